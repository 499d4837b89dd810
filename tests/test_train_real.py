"""Training and evaluation at real sizes: scale augmentation (different every epoch, the same in every
process), ignore padding, OHEM and class weights, full-resolution evaluation against a hand-written
sliding-window reference, and `archc predict`'s pictures."""
from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from archc.cli import app
from archc.lang.normalize import IMAGENET
from archc.train.augment import Augment
from archc.train.datasets import Reading, Segmentation
from archc.train.losses import loss_fn
from archc.train.synth import synthesize
from tinyspec import tiny_spec

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
DIGEST = """
import hashlib, sys
from archc.lang.normalize import IMAGENET
from archc.train.augment import Augment
from archc.train.datasets import Reading, Segmentation
data = Segmentation(sys.argv[1], "train", 3, (3, 32, 32), IMAGENET, Reading(Augment((0.5, 2.0), True, 0.2), seed=7))
h = hashlib.sha256()
for epoch in (0, 1):
    data.epoch = epoch
    for i in range(len(data)):
        x, m = data[i]
        h.update(x.numpy().tobytes()); h.update(m.numpy().tobytes())
print(h.hexdigest())
"""


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    synthesize(root / "data", 3, 10, (32, 32), seed=3)
    return root


def _digest(data, epoch: int) -> str:
    data.epoch = epoch
    h = hashlib.sha256()
    for i in range(len(data)):
        x, m = data[i]
        h.update(x.numpy().tobytes())
        h.update(m.numpy().tobytes())
    return h.hexdigest()


def test_augmentation_differs_across_epochs_and_is_the_same_in_another_process(synth):
    data = Segmentation(synth / "data", "train", 3, (3, 32, 32), IMAGENET,
                        Reading(Augment((0.5, 2.0), True, 0.2), seed=7))
    here = hashlib.sha256()
    for epoch in (0, 1):
        data.epoch = epoch
        for i in range(len(data)):
            x, m = data[i]
            here.update(x.numpy().tobytes())
            here.update(m.numpy().tobytes())
    assert _digest(data, 0) != _digest(data, 1)  # a new draw every epoch
    other = subprocess.run([sys.executable, "-c", DIGEST, str(synth / "data")], cwd=ROOT, capture_output=True,
                           text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == here.hexdigest()  # the same seed, the same crops in a fresh process
    reseeded = Segmentation(synth / "data", "train", 3, (3, 32, 32), IMAGENET,
                            Reading(Augment((0.5, 2.0), True, 0.2), seed=8))
    assert _digest(reseeded, 0) != _digest(data, 0)


def test_downscaled_crop_is_padded_with_ignore_and_the_mean_colour():
    image = torch.full((3, 40, 60), 200, dtype=torch.uint8)
    mask = torch.ones(40, 60, dtype=torch.uint8)
    mean = torch.tensor(IMAGENET[0]).view(-1, 1, 1) * 255
    x, m = Augment((0.5, 0.5), flip=False)(np.random.default_rng(0), image, mask, (32, 48), mean)
    assert x.shape == (3, 32, 48) and m.shape == (32, 48)
    assert (m[:20, :30] == 1).all() and (m[20:] == 255).all() and (m[:, 30:] == 255).all()  # 40x60 at 0.5 = 20x30
    assert torch.allclose(x[:, 25, 40], mean[:, 0, 0]) and torch.allclose(x[:, 5, 5], torch.full((3,), 200.0))


def test_ohem_keeps_the_hard_pixels_and_weights_scale_classes():
    logits = torch.zeros(1, 2, 1, 8)
    logits[0, 0, 0, :6] = 4.0  # six easy pixels of class 0 (p = 0.98)
    masks = torch.tensor([[[0, 0, 0, 0, 0, 0, 1, 255]]])
    per = torch.nn.functional.cross_entropy(logits, masks, ignore_index=255, reduction="none")[0, 0]
    plain = loss_fn(logits, masks)
    assert plain == pytest.approx(float(per[:7].mean()), rel=1e-6)
    # OHEM: the pixel of class 1 (p < 0.7) is hard; at least a quarter of the 7 labelled pixels (2) are kept
    kept = sorted(per[:7].tolist(), reverse=True)[:2]
    assert loss_fn(logits, masks, ohem=True) == pytest.approx(sum(kept) / 2, rel=1e-6)
    weights = torch.tensor([1.0, 3.0])
    expected = (float(per[:6].sum()) + 3 * float(per[6])) / (6 + 3)
    assert loss_fn(logits, masks, weights) == pytest.approx(expected, rel=1e-6)


def test_training_options_metrics_csv_and_refusals(synth, tmp_path):
    (tmp_path / "tiny.yaml").write_text(tiny_spec(32, 32))
    args = ["train", str(tmp_path / "tiny.yaml"), "--data", str(synth / "data"), "--epochs", "2", "--batch", "4"]
    result = runner.invoke(app, [*args, "--crop", "16x24", "--loss", "ohem", "--class-weights", "--jitter", "0.2",
                                 "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "r/metrics.json").read_text())
    assert metrics["config"]["crop"] == [16, 24] and metrics["config"]["loss"] == "ohem"
    rows = (tmp_path / "r/metrics.csv").read_text().splitlines()
    assert rows[0] == "epoch,train_loss,lr,miou,pixel_accuracy,iou class 0,iou class 1,iou class 2"
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]
    assert rows[2].split(",")[3] == str(metrics["final"]["miou"])
    for extra, words in ((["--scale", "2-1"], "--scale (2.0, 1.0): give LOW-HIGH"), (["--loss", "dice"], "--loss dice"),
                         (["--crop", "big"], "--crop big: expected HxW")):
        bad = runner.invoke(app, [*args, *extra, "--out", str(tmp_path / "x")])
        assert bad.exit_code == 2 and words in bad.output, bad.output
    if not torch.cuda.is_available():
        bad = runner.invoke(app, [*args, "--device", "cuda", "--out", str(tmp_path / "x")])
        assert bad.exit_code == 2 and "--device cuda: torch sees no CUDA GPU" in bad.output
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        bad = runner.invoke(app, [*args, "--tensorboard", "--out", str(tmp_path / "x")])
        assert bad.exit_code == 2 and "pip install 'archc[tensorboard]'" in bad.output
    else:
        assert runner.invoke(app, [*args, "--tensorboard", "--out", str(tmp_path / "tb")]).exit_code == 0
        assert list((tmp_path / "tb/tensorboard").glob("events.*"))
    assert not (tmp_path / "x").exists()


def _reference_sliding(module, x, window):
    """The textbook sliding window, written out: windows every 2/3 of the window, the last one flush with the
    image's end, logits summed and divided by how many windows covered each pixel."""
    (h, w), (wh, ww) = x.shape[-2:], window
    ys = list(range(0, h - wh + 1, math.ceil(wh * 2 / 3)))
    xs = list(range(0, w - ww + 1, math.ceil(ww * 2 / 3)))
    ys += [h - wh] if ys[-1] != h - wh else []
    xs += [w - ww] if xs[-1] != w - ww else []
    total, count = None, torch.zeros(h, w)
    for y in ys:
        for left in xs:
            out = module(x[..., y:y + wh, left:left + ww])
            total = torch.zeros(out.shape[0], out.shape[1], h, w) if total is None else total
            total[..., y:y + wh, left:left + ww] += out
            count[y:y + wh, left:left + ww] += 1
    return total / count


def test_full_resolution_eval_equals_a_hand_written_sliding_window(tmp_path):
    from archc.compile import compile_spec
    from archc.torch.lower import lower

    (tmp_path / "tiny.yaml").write_text(tiny_spec(256, 512))
    synthesize(tmp_path / "small", 3, 4, (256, 512), seed=1)
    synthesize(tmp_path / "big", 3, 3, (512, 1024), seed=2)  # val: 1 image at 512x1024
    train = runner.invoke(app, ["train", str(tmp_path / "tiny.yaml"), "--data", str(tmp_path / "small"), "--epochs",
                                "1", "--batch", "3", "--out", str(tmp_path / "r")])
    assert train.exit_code == 0, train.output
    result = runner.invoke(app, ["eval", str(tmp_path / "tiny.yaml"), "--weights", str(tmp_path / "r/weights.pt"),
                                 "--data", str(tmp_path / "big"), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["inference"] == "slide"  # the spec's resize is lowered for 256x512 only
    module = lower(compile_spec(tmp_path / "tiny.yaml").graph)
    module.load_state_dict(torch.load(tmp_path / "r/weights.pt", weights_only=True))
    module.eval()
    mean, std = (torch.tensor(v).view(-1, 1, 1) * 255 for v in IMAGENET)
    image = np.asarray(Image.open(tmp_path / "big/val/images/00002.png"), np.float32).transpose(2, 0, 1)
    truth = np.asarray(Image.open(tmp_path / "big/val/masks/00002.png")).astype(np.int64)
    with torch.inference_mode():
        logits = _reference_sliding(module, ((torch.from_numpy(image) - mean) / std)[None], (256, 512))
    pred = logits.argmax(1)[0].numpy()
    ious = [((pred == c) & (truth == c)).sum() / ((pred == c) | (truth == c)).sum() for c in range(3)]
    assert scores["pixels"] == 512 * 1024
    assert scores["per_class_iou"] == [round(float(v), 6) for v in ious]
    assert scores["pixel_accuracy"] == round(float((pred == truth).mean()), 6)


def test_predict_writes_masks_overlays_and_a_labelled_sheet(synth, tmp_path):
    (tmp_path / "tiny.yaml").write_text(tiny_spec(32, 32))
    for name in ("a", "b"):
        args = ["train", str(tmp_path / "tiny.yaml"), "--data", str(synth / "data"), "--epochs", "1", "--batch", "4",
                "--out", str(tmp_path / name), *(["--pass", "width=0.5"] if name == "b" else [])]
        assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, ["predict", "--models", str(tmp_path / "a"), "--models", str(tmp_path / "b"),
                                 str(synth / "data"), "-o", str(tmp_path / "p"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert [m["label"] for m in summary["models"]] == ["a", "b"] and summary["images"] == 2
    assert summary["models"][0]["miou"] == json.loads((tmp_path / "a/metrics.json").read_text())["final"]["miou"]
    sheet = Image.open(tmp_path / "p/sheet.png")
    assert sheet.width > 4 * 192 and sheet.height > 2 * 192  # image | truth | a | b, two rows
    mask = np.asarray(Image.open(tmp_path / "p/masks/a/00008.png"))
    assert mask.shape == (32, 32, 3) and set(map(tuple, mask.reshape(-1, 3))) <= {(0, 0, 0), (128, 0, 0), (0, 128, 0)}
    assert (tmp_path / "p/overlays/b/00009.png").is_file()
    one = runner.invoke(app, ["predict", str(tmp_path / "tiny.yaml"), "--weights", str(tmp_path / "a/weights.pt"),
                              str(synth / "data/val/images/00008.png"), "-o", str(tmp_path / "q")])
    assert one.exit_code == 0, one.output
    assert (tmp_path / "q/masks/tiny/00008.png").is_file()
    bad = runner.invoke(app, ["predict", str(tmp_path / "tiny.yaml"), str(synth / "data"), "-o", str(tmp_path / "z")])
    assert bad.exit_code == 2 and "needs --weights" in bad.output and not (tmp_path / "z").exists()


def test_sweep_predict_adds_a_sheet_across_the_trained_models(synth, tmp_path):
    (tmp_path / "tiny.yaml").write_text(tiny_spec(32, 32))
    args = ["sweep", str(tmp_path / "tiny.yaml"), "--grid", "width=1,0.5", "--train", "1", "--data",
            str(synth / "data"), "--jobs", "1", "--out", str(tmp_path / "sw"), "--predict", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "sw/predict/predictions.json").read_text())
    assert [m["label"] for m in summary["models"]] == ["width=1", "width=0.5"] and summary["images"] == 2
    assert all(m["miou_on"] == "val" for m in summary["models"]) and (tmp_path / "sw/predict/sheet.png").is_file()
    alone = runner.invoke(app, args[:4] + ["--predict", "2"])
    assert alone.exit_code == 2 and "--predict N needs --train EPOCHS" in alone.output


@pytest.mark.slow
def test_onnx_model_is_slid_over_larger_images_like_the_torch_model(synth, tmp_path):
    from archc.compile import compile_spec
    from archc.train.evaluate import evaluate_checkpoint, evaluate_onnx, with_weights
    from archc.train.quality import export_trained

    (tmp_path / "tiny.yaml").write_text(tiny_spec(32, 32))
    args = ["train", str(tmp_path / "tiny.yaml"), "--data", str(synth / "data"), "--epochs", "1", "--batch", "4",
            "--out", str(tmp_path / "r")]
    assert runner.invoke(app, args).exit_code == 0
    synthesize(tmp_path / "big", 3, 4, (48, 80), seed=4)
    compiled = compile_spec(tmp_path / "tiny.yaml")
    onnx_path = export_trained(compiled, tmp_path / "r/weights.pt", tmp_path / "m.onnx")
    module = with_weights(compiled, tmp_path / "r/weights.pt")[0]
    torch_scores = evaluate_checkpoint(compiled, module, tmp_path / "big")
    ort_scores = evaluate_onnx(onnx_path, tmp_path / "big")
    assert torch_scores["inference"] == ort_scores["inference"] == "slide"
    assert ort_scores["pixels"] == 48 * 80 and abs(ort_scores["miou"] - torch_scores["miou"]) < 2e-3
    result = runner.invoke(app, ["predict", "--models", str(onnx_path), "--models", str(tmp_path / "r"),
                                 str(tmp_path / "big"), "-o", str(tmp_path / "p"), "--json"])
    assert result.exit_code == 0, result.output
    assert [m["label"] for m in json.loads(result.output)["models"]] == ["m.onnx", "r"]


def test_eval_flip_scales_and_confusion_picture(synth, tmp_path):
    from archc.compile import compile_spec
    from archc.torch.lower import lower

    (tmp_path / "tiny.yaml").write_text(tiny_spec(32, 32))
    args = ["train", str(tmp_path / "tiny.yaml"), "--data", str(synth / "data"), "--epochs", "1", "--batch", "4",
            "--out", str(tmp_path / "r")]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, ["eval", str(tmp_path / "tiny.yaml"), "--weights", str(tmp_path / "r/weights.pt"),
                                 "--data", str(synth / "data"), "--flip", "--confusion", str(tmp_path / "c.png"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    flipped = json.loads(result.output)
    module = lower(compile_spec(tmp_path / "tiny.yaml").graph)
    module.load_state_dict(torch.load(tmp_path / "r/weights.pt", weights_only=True))
    module.eval()
    data = Segmentation(synth / "data", "val", 3, (3, 32, 32), IMAGENET, Reading(full=True))
    hits = total = 0
    with torch.inference_mode():
        for i in range(len(data)):
            x, m = data[i]
            logits = (module(x[None]) + module(x[None].flip(-1)).flip(-1)) / 2  # the mirrored image, mirrored back
            hits, total = hits + int((logits.argmax(1)[0] == m).sum()), total + m.numel()
    assert flipped["pixel_accuracy"] == round(hits / total, 6)
    picture = Image.open(tmp_path / "c.png")
    assert picture.mode == "RGB" and picture.width >= 3 * 8 and picture.height >= 3 * 8
    multi = runner.invoke(app, ["eval", str(tmp_path / "tiny.yaml"), "--weights", str(tmp_path / "r/weights.pt"),
                                "--data", str(synth / "data"), "--scales", "0.5,1", "--json"])
    assert multi.exit_code == 0 and json.loads(multi.output)["pixels"] == flipped["pixels"]
    bad = runner.invoke(app, ["eval", str(tmp_path / "tiny.yaml"), "--weights", str(tmp_path / "r/weights.pt"),
                              "--data", str(synth / "data"), "--inference", "tiles"])
    assert bad.exit_code == 2 and "--inference tiles: choose one of auto, whole, slide" in bad.output
