"""Training: the same seed gives the same metrics.json, a run killed mid-epoch (SIGINT, SIGKILL) resumes to
the same final metrics, eval agrees with training's own val scores in torch and in ONNX Runtime."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archc.cli import app
from archc.train.synth import synthesize
from tinyspec import DSCONV, STEM, tiny_spec

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
TINY = tiny_spec(rows=(STEM, DSCONV, "{op: dropout, p: 0.1}"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 531-parameter net and a 3-class synthetic set it trains on in about a second."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "tiny.yaml").write_text(TINY)
    synthesize(root / "data", 3, 30, (32, 32), seed=1)
    synthesize(root / "long", 3, 120, (32, 32), seed=2)  # epochs long enough to be killed inside
    return root


def _train(tiny, out, *extra, data="data", epochs="2"):
    args = ["train", str(tiny / "tiny.yaml"), "--data", str(tiny / data), "--epochs", epochs,
            "--batch", "4", "--out", str(out), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads((out / "metrics.json").read_text())


def test_same_seed_same_metrics(tiny, tmp_path):
    a = _train(tiny, tmp_path / "a")
    assert (tmp_path / "a" / "metrics.json").read_bytes() == (_train(tiny, tmp_path / "b") and
                                                              (tmp_path / "b" / "metrics.json").read_bytes())
    assert len(a["epochs"]) == 2 and a["final"] == a["epochs"][-1] and a["final"]["miou"] is not None
    assert _train(tiny, tmp_path / "c", "--seed", "1")["epochs"] != a["epochs"]  # the seed is used


def test_a_run_is_not_overwritten_and_resume_checks_options(tiny, tmp_path):
    _train(tiny, tmp_path / "r", epochs="1")
    again = runner.invoke(app, ["train", str(tiny / "tiny.yaml"), "--data", str(tiny / "data"), "--epochs", "1",
                                "--out", str(tmp_path / "r")])
    assert again.exit_code == 2 and "pass --resume" in again.output
    other = runner.invoke(app, ["train", str(tiny / "tiny.yaml"), "--data", str(tiny / "data"), "--epochs", "1",
                                "--batch", "4", "--lr", "0.5", "--out", str(tmp_path / "r"), "--resume"])
    assert other.exit_code == 2 and "lr: None then, 0.5 now" in other.output


@pytest.fixture(scope="module")
def whole(tiny, tmp_path_factory):
    """The uninterrupted run the interrupted ones must end equal to: (metrics.json, its folder)."""
    run = tmp_path_factory.mktemp("whole") / "run"
    return _train(tiny, run, data="long"), run


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_resumes_to_the_same_metrics(tiny, whole, tmp_path, sig):
    run = tmp_path / "cut"
    cmd = [sys.executable, "-m", "archc", "train", str(tiny / "tiny.yaml"), "--data", str(tiny / "long"),
           "--epochs", "2", "--batch", "4", "--out", str(run)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 600  # an event, bounded only against a hang: a loaded machine is slow
    while not (run / "metrics.json").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(sig)  # epoch 2 has just started
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL), err
    done = json.loads((run / "metrics.json").read_text())
    assert len(done["epochs"]) == 1  # killed inside epoch 2: only epoch 1 was saved
    resumed = _train(tiny, run, "--resume", data="long")
    assert resumed == whole[0]
    _same_state(run / "checkpoint.pt", whole[1] / "checkpoint.pt")


HALTS = """
import contextlib, sys, time
from pathlib import Path
from archc import api

spec, data, out, marker = sys.argv[1:5]


@contextlib.contextmanager
def training(epochs):
    def progress(epoch, step, steps, loss, ips):
        if epoch == 1 and step == steps // 2:  # half of epoch 2 done, in memory only
            Path(marker).write_text(f"epoch 2, step {step} of {steps}")
            time.sleep(3600)  # killed here
    yield progress


api.train(api.Train(api.Source(spec), Path(data), 2, Path(out), batch=4), api.Hooks(training=training))
"""


@pytest.mark.timeout(600)
def test_a_run_killed_inside_an_epoch_restarts_that_epoch_and_ends_bitwise_equal(tiny, whole, tmp_path):
    """The promise for a kill mid-epoch: nothing of the unfinished epoch is kept; --resume restarts it from the
    last epoch's checkpoint and the run ends as the uninterrupted one did: model, optimiser moments and step
    counts, schedule, every epoch's metrics (train loss: the same batches in the same order with the same
    augmentation and dropout draws, which come from (seed, epoch), not from a saved RNG state) bitwise."""
    run, marker, script = tmp_path / "cut", tmp_path / "inside", tmp_path / "halts.py"
    script.write_text(HALTS)
    proc = subprocess.Popen([sys.executable, str(script), str(tiny / "tiny.yaml"), str(tiny / "long"), str(run),
                             str(marker)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 500  # an event (the marker), bounded only against a hang
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), proc.communicate(timeout=60)[1]
        proc.send_signal(signal.SIGKILL)  # in the middle of epoch 2, its half-trained model only in memory
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert len(json.loads((run / "metrics.json").read_text())["epochs"]) == 1  # epoch 2 left nothing
    resumed = _train(tiny, run, "--resume", data="long")
    assert resumed == whole[0]
    _same_state(run / "checkpoint.pt", whole[1] / "checkpoint.pt")
    _same_state(run / "weights.pt", whole[1] / "weights.pt")  # (not the bytes: the zip names its temporary)


def _same_state(a, b) -> None:
    """Field by field: model, optimiser (moments and step counts), schedule, epochs; bitwise."""
    import torch

    def flat(x, path=""):
        if isinstance(x, dict):
            return {k: v for key, item in x.items() for k, v in flat(item, f"{path}/{key}").items()}
        if isinstance(x, (list, tuple)):
            return {k: v for i, item in enumerate(x) for k, v in flat(item, f"{path}/{i}").items()}
        return {path: x}

    left, right = (flat(torch.load(p, weights_only=True)) for p in (a, b))
    assert left.keys() == right.keys()
    for key, value in left.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, right[key]), key
        elif key.split("/")[-1] not in ("seconds", "time", "elapsed", "started"):
            assert value == right[key], key


def test_eval_matches_training_and_onnx_runtime(tiny, tmp_path):
    final = _train(tiny, tmp_path / "e")["final"]
    result = runner.invoke(app, ["eval", str(tiny / "tiny.yaml"), "--weights", str(tmp_path / "e/weights.pt"),
                                 "--data", str(tiny / "data"), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["miou"] == final["miou"] and scores["per_class_iou"] == final["per_class_iou"]
    missing = runner.invoke(app, ["eval", str(tiny / "tiny.yaml"), "--data", str(tiny / "data")])
    assert missing.exit_code == 2 and "needs --weights" in missing.output


@pytest.mark.slow
def test_float32_and_int8_scored_on_the_same_images(tiny, tmp_path):
    final = _train(tiny, tmp_path / "c")["final"]
    args = ["eval", str(tiny / "tiny.yaml"), "--weights", str(tmp_path / "c/weights.pt"), "--data",
            str(tiny / "data"), "--quantize", "int8", "--out", str(tmp_path / "q"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    both = json.loads(result.output)
    assert abs(both["float32"]["miou"] - final["miou"]) < 2e-3  # ORT float32 = torch, up to a few pixels
    assert both["int8"]["images"] == both["float32"]["images"] == 6 and both["float32"]["miou_drop"] == 0.0
    alone = runner.invoke(app, ["eval", str(tmp_path / "q/model.int8.onnx"), "--data", str(tiny / "data"), "--json"])
    assert alone.exit_code == 0 and json.loads(alone.output)["miou"] == both["int8"]["miou"]
    bad = runner.invoke(app, args[:-5] + ["--quantize", "int4"])
    assert bad.exit_code == 2 and "--quantize int4: choose one of int8" in bad.output


def test_sweep_trains_every_valid_configuration(tiny, tmp_path):
    import csv

    args = ["sweep", str(tiny / "tiny.yaml"), "--grid", "width=1,0.5", "--train", "1", "--data",
            str(tiny / "data"), "--jobs", "1", "--out", str(tmp_path / "sw")]
    assert runner.invoke(app, args).exit_code == 0
    rows = list(csv.DictReader((tmp_path / "sw/results.csv").open()))
    assert [r["config"] for r in rows] == ["width=1", "width=0.5"] and all(0 <= float(r["miou"]) <= 1 for r in rows)
    assert len(list((tmp_path / "sw/train_cache").glob("*.json"))) == 2  # a re-run trains nothing
    assert all((tmp_path / "sw/train_runs" / r["run"] / "weights.pt").is_file() for r in rows)
    alone = runner.invoke(app, args[:4] + ["--train", "1"])
    assert alone.exit_code == 2 and "go together" in alone.output


@pytest.mark.slow
def test_gradual_grouping_ends_equal_to_the_grouped_conv(tiny, tmp_path):
    import numpy as np
    import torch

    from archc.compile import compile_spec
    from archc.onnx import runtime
    from archc.torch.lower import lower
    from archc.train.quality import export_trained

    state = _train(tiny, tmp_path / "g", "--gradual-groups", "2")
    assert state["gradual"]["convs"] == 1 and state["gradual"]["max_abs_diff"] <= 1e-4
    assert state["config"]["gradual_groups"] == 2
    grouped = compile_spec(tmp_path / "g/grouped/spec.yaml")
    assert any(n.op == "conv" and n.attrs["groups"] == 2 for n in grouped.graph)
    dense = lower(compile_spec(tiny / "tiny.yaml").graph)
    dense.load_state_dict(torch.load(tmp_path / "g/weights.pt", weights_only=True))
    owner = next(n.owner for n in grouped.graph if n.op == "conv" and n.attrs["groups"] == 2)
    w = dense.get_submodule(owner).weight.detach()
    assert float(w[:8, 4:].abs().max()) == 0 and float(w[:8, :4].abs().max()) > 0  # off-group weights are 0
    onnx_path = export_trained(grouped, tmp_path / "g/grouped/weights.pt", tmp_path / "grouped.onnx")
    x = runtime.inputs((3, 32, 32), 1, 5)[0]
    got = runtime.run_ort(runtime.session(onnx_path), x)[0]
    assert np.max(np.abs(got - runtime.run_torch(dense.eval(), x)[0])) < 1e-4  # exported grouped = dense


def test_gradual_grouping_takes_tensorboard_as_any_training_does(tiny, tmp_path):
    """--tensorboard with --gradual-groups writes event files, or is refused in one line when the package is
    missing (it was dropped in silence)."""
    args = ["train", str(tiny / "tiny.yaml"), "--data", str(tiny / "data"), "--epochs", "1", "--batch", "4",
            "--gradual-groups", "2", "--tensorboard", "--out", str(tmp_path / "g")]
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        bad = runner.invoke(app, args)
        assert bad.exit_code == 2 and "pip install 'archc[tensorboard]'" in bad.output, bad.output
        assert not (tmp_path / "g").exists()
    else:
        assert runner.invoke(app, args).exit_code == 0
        assert list((tmp_path / "g/tensorboard").glob("events.*"))


def test_what_runs_after_the_last_epoch_runs_under_the_runs_lock(tiny, tmp_path):
    """--qat's int8 export is `Run.after`: it runs while the run still holds RUN's lock (it used to lock the
    folder again after training, a moment in which another process could take it). flock locks are per open
    file, so a second claim from this process is refused as another process's would be."""
    from archc.compile import compile_spec
    from archc.errors import ArchcError
    from archc.train.folder import locked
    from archc.train.loop import Config, Run, train

    seen = []

    def after(state):
        with pytest.raises(ArchcError, match="another archc process"):
            with locked(tmp_path / "r"):
                pass
        seen.append(len(state["epochs"]))

    train(compile_spec(tiny / "tiny.yaml"), tiny / "data", Config(1, batch=4), Run(tmp_path / "r", after=after))
    assert seen == [1]
    with locked(tmp_path / "r"):  # released when the run ends
        pass


def test_from_parent_starts_the_child_from_the_parents_strongest_channels(tiny, tmp_path):
    import torch

    from archc.compile import compile_spec
    from archc.torch.lower import lower
    from archc.train.run import carried

    _train(tiny, tmp_path / "parent", epochs="1")
    ckpt = tmp_path / "parent" / "weights.pt"
    parent, child = compile_spec(tiny / "tiny.yaml"), compile_spec(tiny / "tiny.yaml", ["width=0.5"])
    state, full = carried(child, parent, ckpt), torch.load(ckpt, weights_only=True)
    lower(child.graph).load_state_dict(state)  # strict: every tensor of the half-width model, right shapes
    first = next(k for k in state if k.endswith("weight") and state[k].dim() == 4)
    rows = {tuple(r.flatten().tolist()) for r in full[first]}  # the parent's output channels of that conv
    assert 0 < state[first].shape[0] < full[first].shape[0]
    assert all(tuple(r.flatten().tolist()) in rows for r in state[first])  # kept channels, not new ones
    result = runner.invoke(app, ["train", str(tiny / "tiny.yaml"), "--pass", "width=0.5", "--data",
                                 str(tiny / "data"), "--epochs", "1", "--batch", "4", "--out", str(tmp_path / "c"),
                                 "--from-parent", str(ckpt)])
    assert result.exit_code == 0, result.output
    missing = runner.invoke(app, ["train", str(tiny / "tiny.yaml"), "--pass", "width=0.5", "--data",
                                  str(tiny / "data"), "--epochs", "1", "--out", str(tmp_path / "m"),
                                  "--from-parent", str(tmp_path / "none.pt")])
    assert missing.exit_code == 2 and "--from-parent" in missing.output