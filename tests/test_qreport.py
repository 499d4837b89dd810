"""`archc quantize-report` and `archc train --qat` (issue 25): every precision of a trained model in each
runtime, scored and compared in one table whose figures are recomputed here from the files it wrote; the
masks sheet; QAT fine-tuning into an int8 ONNX model that loads and scores; user errors in one line.
LiteRT rows are built where archc[litert] is installed (its venv) and say why they are missing elsewhere."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from archc.cli import app
from archc.litert import available
from archc.train.synth import synthesize
from tinyspec import ok as _ok
from tinyspec import tiny_spec, trained_tiny

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny net trained one epoch on a 3-class synthetic set, fine-tuned one more with --qat."""
    root = trained_tiny(tmp_path_factory.mktemp("qr"))
    _ok(["train", str(root / "tiny.yaml"), "--data", str(root / "data"), "--epochs", "1", "--batch", "4",
         "--out", str(root / "qat"), "--qat", "--weights", str(root / "run" / "weights.pt"), "--lr", "1e-4"])
    return root


@pytest.fixture(scope="module")
def reported(tiny):
    out = tiny / "qr"
    result = _ok(["quantize-report", str(tiny / "tiny.yaml"), "--weights", str(tiny / "run" / "weights.pt"),
                  "--data", str(tiny / "data"), "--qat", str(tiny / "qat"), "--out", str(out), "--runs", "2",
                  "--warmup", "1", "--images", "2", "--json"])
    return json.loads(result.stdout.strip().splitlines()[-1]), out


def _val(tiny) -> list:
    """The val images as the spec normalizes them (no normalize: ImageNet's), read here with PIL."""
    mean, std = np.array([0.485, 0.456, 0.406]) * 255, np.array([0.229, 0.224, 0.225]) * 255
    files = sorted((tiny / "data" / "val").rglob("*.png"))
    images = [f for f in files if "mask" not in str(f.relative_to(tiny / "data")).lower()]
    return [(((np.asarray(Image.open(f).convert("RGB"), np.float64) - mean) / std).transpose(2, 0, 1)[None]
             .astype(np.float32)) for f in images]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_report_rows_are_the_files_scores(tiny, reported):
    import onnxruntime as ort

    result, out = reported
    rows = {(r["format"], r["runtime"], r["weights"]): r for r in result["rows"]}
    expected = [(m, rt, "ptq") for rt in ("onnxruntime", "litert") for m in ("fp32", "fp16", "dynamic", "int8")]
    assert list(rows) == expected + [("int8", "onnxruntime", "qat"), ("int8", "litert", "qat")]
    for key, r in rows.items():
        if key[1] == "litert" and not available():
            assert r["status"] == "skipped" and "pip install 'archc[litert]'" in r["reason"]
            continue
        assert r["status"] == "ok" and r["median_ms"] > 0
        model = out / "models" / r["file"]
        assert r["bytes"] == model.stat().st_size
        score = json.loads(_ok(["eval", str(model), "--data", str(tiny / "data"), "--json"]).stdout)
        assert r["miou"] == pytest.approx(score["miou"]) and r["pixel_accuracy"] == pytest.approx(
            score["pixel_accuracy"])
        assert r["miou_change"] == pytest.approx(100 * (score["miou"] - rows["fp32", "onnxruntime", "ptq"]["miou"]),
                                                 abs=1e-3)
        if key[1] == "onnxruntime":  # the difference against fp32, recomputed with ORT on PIL-read val images
            ref = ort.InferenceSession(str(out / "models" / "ptq" / "model.onnx"))
            sess = ort.InferenceSession(str(model))
            diff = max(float(np.abs(sess.run(None, {"input": x})[0] - ref.run(None, {"input": x})[0]).max())
                       for x in _val(tiny))
            assert r["max_abs_diff"] == pytest.approx(diff, abs=1e-5)
    assert rows["fp32", "onnxruntime", "ptq"]["max_abs_diff"] == 0 and rows["int8", "onnxruntime", "ptq"][
        "max_abs_diff"] > 0
    with open(out / "report.csv") as f:
        table = list(csv.DictReader(f))
    assert [(t["format"], t["runtime"], t["weights"]) for t in table] == list(rows)
    assert json.loads((out / "report.json").read_text()) == result


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_masks_sheet_shows_every_model_on_the_same_images(reported):
    from archc.train.pictures import CELL

    result, out = reported
    ok = [r for r in result["rows"] if r["status"] == "ok"]
    sheet = Image.open(out / "masks" / "sheet.png")
    cw, pad = max(CELL, 96), 6  # 32x32 images: square cells
    assert sheet.width == 150 + (2 + len(ok)) * (cw + pad) + pad  # image | ground truth | each model
    assert sheet.height >= 44 + 2 * (CELL + pad)  # two images
    summary = json.loads((out / "masks" / "predictions.json").read_text())
    assert summary["images"] == 2 and len(summary["models"]) == len(ok)
    assert [m["miou"] for m in summary["models"]] == [r["miou"] for r in ok]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_qat_run_is_an_int8_model_that_scores(tiny):
    import onnx

    model = onnx.load(str(tiny / "qat" / "model.int8.onnx"))
    assert any(n.op_type == "QuantizeLinear" for n in model.graph.node)
    score = json.loads(_ok(["eval", str(tiny / "qat" / "model.int8.onnx"), "--data", str(tiny / "data"),
                            "--json"]).stdout)
    assert 0 <= score["miou"] <= 1 and score["images"] == 2
    metrics = json.loads((tiny / "qat" / "metrics.json").read_text())
    assert metrics["config"]["qat"] is True and len(metrics["epochs"]) == 1


def test_fake_quantization_keeps_the_checkpoint_and_rounds_as_int8(tmp_path):
    """prepare() adds no saved state (RUN/weights.pt stays the spec's checkpoint) and its eval output is the
    float model's with weights rounded to 7 bits (-64..64) per channel and tensors to 256 levels."""
    import archc
    from archc.train import qat

    net = archc.compile(str(_spec(tmp_path)))
    module = net.module()
    keys = set(module.state_dict())
    x = torch.randn(2, *net.input)
    module.eval()
    with torch.no_grad():
        ref = module(x)
    qat.prepare(module, net.input)
    assert set(module.state_dict()) == keys
    assert sum(isinstance(m, qat.FakeQuant) for m in module.modules()) >= 3
    module.train()
    module(x)  # ranges seen
    module.eval()
    with torch.no_grad():
        got = module(x)
        conv = next(m for m in module.modules() if isinstance(m, qat.QatConv2d))
        w, weight = qat._weight(conv.weight), conv.weight.detach()
    steps = [w[c] / (weight[c].abs().max() / 64) for c in range(w.shape[0])]  # whole steps of absmax / 64
    assert all(torch.allclose(s, torch.round(s), atol=1e-3) and s.abs().max() <= 64 + 1e-3 for s in steps)
    assert torch.allclose(w, weight, atol=float(weight.abs().max()) / 64)
    assert 0 < float((got - ref).abs().max()) < 0.5 * float(ref.abs().max())


def _spec(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(tiny_spec())
    return path


def test_qat_needs_weights(tmp_path):
    synthesize(tmp_path / "data", 3, 4, (32, 32), seed=1)
    result = runner.invoke(app, ["train", str(_spec(tmp_path)), "--data", str(tmp_path / "data"), "--epochs", "1",
                                 "--out", str(tmp_path / "run"), "--qat"])
    assert result.exit_code == 2 and not (tmp_path / "run").exists()
    assert result.output.strip().startswith("archc: error: --qat fine-tunes a trained model") and \
        len(result.output.strip().splitlines()) == 1


def test_user_errors_are_one_line_before_any_work(tmp_path):
    spec = _spec(tmp_path)
    synthesize(tmp_path / "data", 3, 4, (32, 32), seed=1)
    other = tmp_path / "other.yaml"
    other.write_text(tiny_spec(rows=("[conv_bn_act, 12, 2]",), scale=2))
    torch.save(archc_module(other).state_dict(), tmp_path / "other.pt")
    torch.save(archc_module(spec).state_dict(), tmp_path / "w.pt")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    base = ["quantize-report", str(spec), "--runs", "1", "--warmup", "0"]
    for args, start in ((["--weights", str(tmp_path / "w.pt"), "--data", str(tmp_path / "nope")], "archc: error: "),
                        (["--data", str(tmp_path / "data")], "archc: error: "),
                        (["--weights", str(tmp_path / "other.pt"), "--data", str(tmp_path / "data")],
                         "archc: error: --weights"),
                        (["--weights", str(tmp_path / "w.pt"), "--data", str(tmp_path / "data"), "--qat",
                          str(tmp_path / "other.pt")], "archc: error: --qat"),
                        (["--weights", str(tmp_path / "w.pt"), "--data", str(tmp_path / "data"), "--out",
                          str(tmp_path / "mine")], "archc: error: --out")):
        result = runner.invoke(app, base + args)
        errors = [ln for ln in result.output.strip().splitlines() if ln.startswith("archc: error")]
        assert result.exit_code == 2 and len(errors) == 1 and errors[0].startswith(start), result.output
        assert result.output.strip().endswith(errors[0])  # the last line, nothing after it (no traceback)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep" and sorted(
        p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]


def archc_module(spec):
    import archc

    return archc.compile(str(spec)).module()


def test_skipped_rows_keep_the_install_command_whole(capsys):
    """A reason is printed as text: rich would read '[litert]' as markup and print "pip install 'archc'"."""
    from archc.cli.render_litert import quantize_report

    why = "LiteRT needs litert-torch, which is not installed; pip install 'archc[litert]'"
    ok = {"format": "fp32", "runtime": "onnxruntime", "weights": "ptq", "bytes": 2000, "median_ms": 1.0,
          "pixel_accuracy": 0.5, "miou": 0.25, "miou_change": 0.0, "max_abs_diff": 0.0, "status": "ok"}
    result = {"rows": [ok, {"format": "fp32", "runtime": "litert", "weights": "ptq", "status": "skipped",
                            "reason": why}],
              "images": 2, "reference": "fp32 onnxruntime (ptq)", "timing": {"runs": 2, "warmup": 1, "threads": 1}}
    quantize_report(result, None)
    assert f"litert: skipped: {why}" in capsys.readouterr().out
