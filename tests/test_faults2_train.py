"""Issue 28, training and weights: --batch 1 trains, a diverging run stops (exit 2, the last good epoch
kept, no NaN in metrics.json), --resume refuses other data, the dataset's content keys the sweep's cache,
a killed sweep finishes, 16-bit images are scaled not clipped, one checkpoint reader everywhere."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
import torch
from faults2_util import ROOT, TINY, fingerprint, invoke, one_error, tiny_setup, unshare_ok

from archc.train.synth import synthesize


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    spec, data = tiny_setup(root)
    code, _, out = invoke("train", spec, "--data", data, "--epochs", 1, "--batch", 4, "--out", root / "run")
    assert code == 0, out
    return root


def _train(tiny, out, *extra, data=None):
    return invoke("train", tiny / "tiny.yaml", "--data", data or tiny / "data", "--epochs", 1, "--out", out, *extra)


def _strict_json(path):
    def refuse(word):
        raise ValueError(f"bare {word} in {path}")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_batch_1_trains(tiny, tmp_path):
    code, _, text = _train(tiny, tmp_path / "b1", "--batch", 1)
    assert code == 0, text
    metrics = _strict_json(tmp_path / "b1" / "metrics.json")
    assert metrics["final"]["train_loss"] > 0
    start = torch.load(tmp_path / "b1" / "weights.pt", weights_only=True)
    from archc.compile import compile_spec
    from archc.torch.lower import lower

    init = lower(compile_spec(tiny / "tiny.yaml").graph, 0).state_dict()
    assert any(not torch.equal(init[k], start[k]) for k in init if init[k].is_floating_point())


def test_a_diverging_run_stops_with_the_epoch_and_keeps_the_last_good_one(tiny, tmp_path):
    out = tmp_path / "nan"
    code, errors, text = invoke("train", tiny / "tiny.yaml", "--data", tiny / "data", "--epochs", 3, "--lr", "1e30",
                                "--out", out)
    assert one_error(code, errors, "training diverged in epoch"), text
    assert "lower --lr" in errors[0]
    if (out / "metrics.json").exists():  # an epoch finished before: it is kept, finite and strict JSON
        metrics = _strict_json(out / "metrics.json")
        weights = torch.load(out / "weights.pt", weights_only=True)
        assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())
        assert f"epoch {len(metrics['epochs']) + 1}" in errors[0]


def test_resume_with_other_data_is_refused(tiny, tmp_path):
    other = tmp_path / "other"
    synthesize(other, 3, 12, (64, 64), seed=7)
    run = tmp_path / "r"
    assert _train(tiny, run)[0] == 0
    before = fingerprint(run)
    code, errors, text = invoke("train", tiny / "tiny.yaml", "--data", other, "--epochs", 1, "--out", run, "--resume")
    assert one_error(code, errors, "another data"), text
    assert "--data" in errors[0] and fingerprint(run) == before


def test_sweep_train_cache_follows_the_datasets_content(tmp_path):
    spec, data = tiny_setup(tmp_path)
    args = ["sweep", spec, "--grid", "width=1", "--train", 1, "--data", data, "--out", tmp_path / "sw"]
    assert invoke(*args)[0] == 0
    assert len(list((tmp_path / "sw" / "train_cache").iterdir())) == 1
    assert invoke(*args)[0] == 0  # the same data: the cache answers
    assert len(list((tmp_path / "sw" / "train_cache").iterdir())) == 1
    image = sorted((data / "train" / "images").iterdir())[0]
    image.write_bytes((data / "val" / "images" / sorted(os.listdir(data / "val" / "images"))[0]).read_bytes())
    assert invoke(*args)[0] == 0  # the data at that path changed: trained again, a second entry
    assert len(list((tmp_path / "sw" / "train_cache").iterdir())) == 2


def test_a_sweep_killed_while_training_finishes_on_rerun(tmp_path):
    spec, data = tiny_setup(tmp_path)
    args = ["sweep", spec, "--grid", "width=1", "--train", 1, "--data", data, "--out", tmp_path / "sw"]
    assert invoke(*args)[0] == 0
    for entry in (tmp_path / "sw" / "train_cache").iterdir():  # killed after the run's checkpoint, before its score
        entry.unlink()
    code, errors, text = invoke(*args)
    assert code == 0 and not errors, text


def test_16_bit_grayscale_images_are_scaled_not_clipped(tmp_path):
    from PIL import Image

    from archc.train.datasets import read_image

    path = tmp_path / "depth.png"
    Image.fromarray(np.array([[0, 1000, 32768, 65535]], dtype=np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I")
    got = np.asarray(read_image(path, 1)).ravel().tolist()
    assert got == [0, 4, 128, 255]  # 1000 -> 4, not 255 (clipped)
    spec, data = tiny_setup(tmp_path / "t")
    for image in (data / "train" / "images").iterdir():  # the whole set as 16-bit depth images
        gray = np.asarray(Image.open(image).convert("L"), dtype=np.uint16) * 257
        Image.fromarray(gray).save(image)
    code, _, text = invoke("train", spec, "--data", data, "--epochs", 1, "--out", tmp_path / "r")
    assert code == 0, text


def test_eval_and_from_parent_take_a_training_checkpoint(tiny, tmp_path):
    run = tiny / "run"
    by_weights = invoke("eval", tiny / "tiny.yaml", "--weights", run / "weights.pt", "--data", tiny / "data", "--json")
    by_ckpt = invoke("eval", tiny / "tiny.yaml", "--weights", run / "checkpoint.pt", "--data", tiny / "data", "--json")
    assert by_weights[0] == 0 and by_ckpt[0] == 0, by_ckpt[2]
    last = lambda text: json.loads(text.strip().splitlines()[-1])  # noqa: E731
    assert last(by_weights[2])["miou"] == last(by_ckpt[2])["miou"]
    assert "training checkpoint" in by_ckpt[2]  # it says what it took
    code, errors, text = invoke("train", tiny / "tiny.yaml", "--data", tiny / "data", "--epochs", 1, "--pass",
                                "width=0.5", "--from-parent", run / "checkpoint.pt", "--out", tmp_path / "child")
    assert code == 0, text


def _bad_checkpoints(tiny, tmp_path) -> dict:
    state = torch.load(tiny / "run" / "weights.pt", weights_only=True)
    first = next(k for k, v in state.items() if v.is_floating_point())
    paths = {"integer": tmp_path / "int.pt", "pickle": tmp_path / "code.pt"}
    torch.save({**state, first: state[first].to(torch.int64)}, paths["integer"])
    torch.save({"model": state, "why": pathlib.PurePosixPath("x")}, paths["pickle"])  # an object: not data
    return paths


@pytest.mark.parametrize("command", ["train", "eval"])
def test_train_and_eval_weights_go_through_the_one_reader(tiny, tmp_path, command):
    paths = _bad_checkpoints(tiny, tmp_path)
    for kind, words in (("integer", "floating-point"), ("pickle", "refused")):
        if command == "train":
            code, errors, text = _train(tiny, tmp_path / f"t{kind}", "--weights", paths[kind])
            assert not (tmp_path / f"t{kind}").exists()
        else:
            code, errors, text = invoke("eval", tiny / "tiny.yaml", "--weights", paths[kind], "--data", tiny / "data")
        assert one_error(code, errors, words), text
        assert "weights_only=False" not in text and "arbitrary code" not in text


def test_a_classifier_on_a_segmentation_set_is_refused_and_leaves_no_folder(tiny, tmp_path):
    code, errors, text = invoke("train", "specs/mobilenetv2.yaml", "--input", "3x64x64", "--data", tiny / "data",
                                "--epochs", 1, "--out", tmp_path / "cls")
    assert one_error(code, errors, "segmentation"), text
    assert not (tmp_path / "cls").exists()


def test_resume_on_a_foreign_checkpoint_is_one_line(tiny, tmp_path):
    run = tmp_path / "r"
    assert _train(tiny, run)[0] == 0
    torch.save({"model": {"w": torch.zeros(2)}}, run / "checkpoint.pt")
    before = fingerprint(run)
    code, errors, text = invoke("train", tiny / "tiny.yaml", "--data", tiny / "data", "--epochs", 2, "--out", run,
                                "--resume")
    assert one_error(code, errors, "not a checkpoint archc train wrote"), text
    assert fingerprint(run) == before


def _png_header_only(path, width, height):
    """A valid PNG signature and IHDR claiming width x height, and a tiny IDAT: Pillow's bomb check fires on open."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data  # noqa: E731
                                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0"))
                     + chunk(b"IEND", b""))


def test_a_decompression_bomb_and_a_non_utf8_voc_listing_are_one_line(tiny, tmp_path):
    spec, data = tiny_setup(tmp_path)
    _png_header_only(sorted((data / "train" / "images").iterdir())[0], 20000, 20000)
    code, errors, text = invoke("train", spec, "--data", data, "--epochs", 1, "--out", tmp_path / "r1")
    assert one_error(code, errors, "cannot read image"), text
    voc = tmp_path / "voc"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / sub).mkdir(parents=True)
    (voc / "ImageSets" / "Segmentation" / "train.txt").write_bytes(b"\xff\xfe\x00bad\n")
    code, errors, text = invoke("train", spec, "--data", voc, "--epochs", 1, "--out", tmp_path / "r2")
    assert one_error(code, errors, "not UTF-8"), text
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()


def test_a_non_utf8_weights_map_is_one_line(tiny, tmp_path):
    (tmp_path / "map.yaml").write_bytes(b"map:\n  a: \xff\xfe\n")
    code, errors, text = invoke("summary", tiny / "tiny.yaml", "--weights", tiny / "run" / "weights.pt",
                                "--weights-map", tmp_path / "map.yaml")
    assert one_error(code, errors, "not UTF-8"), text


@pytest.mark.skipif(not unshare_ok(), reason="needs unshare -rm (user and mount namespaces)")
def test_train_on_a_full_disk_is_one_line(tiny, tmp_path):
    """torch's zip writer reports ENOSPC as a RuntimeError: still one line, exit 2."""
    (tmp_path / "m").mkdir()
    script = (f"mount -t tmpfs -o size=24k none {tmp_path}/m && cd {ROOT} && exec {sys.executable} -m archc train "
              f"{tiny / 'tiny.yaml'} --data {tiny / 'data'} --epochs 1 --out {tmp_path}/m/run")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    errors = [line for line in result.stderr.splitlines() if line.startswith("archc: error")]
    assert result.returncode == 2 and len(errors) == 1, result.stderr
    assert "internal" not in result.stderr and ("disk" in errors[0] or "No space" in errors[0]), result.stderr


def test_sigterm_and_a_pipe(tmp_path):
    """Piped, train prints a line per epoch; SIGTERM after an epoch says the run keeps it for --resume."""
    (tmp_path / "tiny.yaml").write_text(TINY)
    synthesize(tmp_path / "data", 3, 200, (64, 64), seed=3)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "archc", "train", str(tmp_path / "tiny.yaml"), "--data",
                             str(tmp_path / "data"), "--epochs", "50", "--batch", "2", "--out", str(out)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "metrics.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "epoch 1/50" in err  # progress reached the pipe
    last = [line for line in err.splitlines() if line.startswith("archc: error")]
    assert len(last) == 1 and "--resume" in last[0] and "keeps epoch" in last[0], err


def test_the_python_api_prints_nothing_and_hands_its_notes_to_the_hooks(tiny, tmp_path, capfd):
    """train and eval with a training checkpoint as --weights say what they took through Hooks.notes (the CLI
    prints it); called from Python they print nothing themselves."""
    from archc import api

    heard = []
    hooks = api.Hooks(notes=heard.extend)
    ckpt = tiny / "run" / "checkpoint.pt"
    api.evaluate(api.Eval(tiny / "tiny.yaml", tiny / "data", weights=ckpt), hooks)
    api.train(api.Train(api.Source(tiny / "tiny.yaml"), tiny / "data", 1, tmp_path / "r", batch=4, weights=ckpt),
              hooks)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert len(heard) == 2 and all(str(ckpt) in n and "training checkpoint" in n for n in heard), heard
    code, _, text = _train(tiny, tmp_path / "cli", "--weights", ckpt)
    assert code == 0 and "training checkpoint" in text  # the CLI renders the same note
