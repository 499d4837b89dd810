"""Profiling: interleaved runs, untimed warmup, the JSON contract, and the CLI."""
from __future__ import annotations

import json

import pytest
from conftest import SMALL, SPEC_DIR
from typer.testing import CliRunner

from archc.cli import app
from archc.errors import ExportError
from archc.measure.profile import Runner, measure

runner = CliRunner()
CONTRACT = {"runtime", "threads", "input", "warmup", "runs", "median_ms", "p90_ms", "mean_ms", "std_ms", "fps"}


def _fake(log, name):
    return Runner("onnxruntime", 1, (3, 8, 8), lambda: log.append(name), name)


def test_runs_interleave_and_warmup_is_not_timed():
    log = []
    results = measure({"a": _fake(log, "a"), "b": _fake(log, "b"), "c": _fake(log, "c")}, warmup=2, runs=4)
    assert len(log) == 3 * 6
    rounds = [tuple(log[i:i + 3]) for i in range(0, len(log), 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds) and len(set(rounds)) > 1  # shuffled each round
    before = {(r[j - 1], r[j]) for r in rounds for j in range(1, 3)}
    assert len(before) > 3  # no runner always follows the same one
    assert all(r["runs"] == 4 and r["warmup"] == 2 for r in results.values())
    assert set(results["a"]) == CONTRACT | {"model"}


def test_stats():
    import time

    r = measure({"s": Runner("torch", 1, (1, 1, 1), lambda: time.sleep(0.002))}, warmup=0, runs=5)["s"]
    assert 2 <= r["median_ms"] <= r["p90_ms"] and r["fps"] == pytest.approx(1e3 / r["median_ms"], rel=1e-3)


def test_bad_runs():
    with pytest.raises(ExportError, match="--runs"):
        measure({}, warmup=0, runs=0)


@pytest.mark.slow
def test_profile_onnx_file_json(small_build):
    _, out, _ = small_build
    result = runner.invoke(app, ["profile", str(out / "model.onnx"), "--runs", "3", "--warmup", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == CONTRACT | {"model"}
    assert data["runtime"] == "onnxruntime" and data["input"] == [3, 128, 128] and data["threads"] == 1


def test_profile_torch_needs_no_export():
    args = ["profile", str(SPEC_DIR / "fastscnn.yaml"), "--pass", SMALL["passes"][0], "--input", "3x64x64",
            "--runtime", "torch", "--runs", "2", "--warmup", "1", "--json", "--threads", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["runtime"] == "torch" and data["threads"] == 2 and data["runs"] == 2


@pytest.mark.slow
def test_profile_spec_both_runtimes(small_build):
    """A spec is built as `archc build` would, then ORT and torch are timed interleaved."""
    args = ["profile", str(SPEC_DIR / "fastscnn.yaml"), "--pass", SMALL["passes"][0], "--input", "3x64x64",
            "--runtime", "both", "--runs", "2", "--warmup", "0", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["runtime"] for d in data] == ["onnxruntime", "torch"]


@pytest.mark.parametrize("args, needle", [
    (["--runtime", "torch"], "ONNX Runtime only"),
    (["--runtime", "tvm"], "choose one of"),
    (["--threads", "0"], "--threads 0"),
    (["--pass", "width=0.5"], "apply to a spec"),
])
def test_profile_errors(small_build, args, needle):
    _, out, _ = small_build
    result = runner.invoke(app, ["profile", str(out / "model.onnx"), *args])
    assert result.exit_code == 2 and needle in result.output and "archc: error:" in result.output


def test_profile_missing_file(tmp_path):
    result = runner.invoke(app, ["profile", str(tmp_path / "none.onnx")])
    assert result.exit_code == 2 and "no such file" in result.output
