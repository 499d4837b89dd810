"""Where a model is timed (this machine or a device over SSH) and how finely (end to
end, or per layer): one runner script (runner.py) does the timing in both places, so
the warmup / median / p90 rules are the same; the figures are the `profile --json`
contract plus the device that ran it and, per layer, the layers of `summary --json`.

    archc profile specs/fastscnn.yaml --per-layer --host pi@raspberrypi.local
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archc.measure import layers, remote, runner
from archc.measure.profile import Runner, stats
from archc.measure.timing import Timing


@dataclass(frozen=True)
class Target:
    host: remote.Host | None = None  # None: this machine
    per_layer: bool = False

    @property
    def special(self) -> bool:
        """Whether the runner script does the timing (not the in-process interleaved runs)."""
        return self.host is not None or self.per_layer


@dataclass(frozen=True)
class Reading:
    """How a runner's output is read: where it ran, how it was timed, and (per layer) the summary's
    report and rows its nodes map to; `name` labels the result (default: the model's file name)."""

    host: str
    timing: Timing
    report: object = None
    rows: dict | None = None
    name: str = ""


def run_runner(path: Path, target: Target, timing: Timing, folder: Path) -> dict:
    """The runner's output for one model; its profile files (per layer) land in `folder`."""
    if target.host is not None:
        return remote.run(target.host, path, timing, target.per_layer, folder)
    local = folder / path.name
    if target.per_layer and local != path:  # ORT writes its profile beside the model: never beside the user's
        shutil.copyfile(path, local)
    return runner.run(str(local if target.per_layer else path), timing.threads, timing.warmup, timing.runs,
                      target.per_layer)


def profile_model(path, target: Target, timing: Timing, report=None, rows=None, name: str = "") -> dict:
    """`profile --json` for one model on `target` (+ "device"; + the per-layer keys)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="archc-profile-") as tmp:
        out = run_runner(path, target, timing, Path(tmp))
        return result_of(path, out, Reading(str(target.host) if target.host else "local", timing, report, rows, name))


def profile_many(models: list, timing: Timing) -> list[dict]:
    """`profile_model` for several models on this machine, timed interleaved in one process
    (runner.run_many): models = (path, per layer?, report or None, rows or None) each."""
    with tempfile.TemporaryDirectory(prefix="archc-profile-") as tmp:
        local = []
        for i, (path, layered, _, _) in enumerate(models):
            local.append(Path(tmp) / f"{i}.onnx" if layered else Path(path))
            if layered:  # ORT writes its profile beside the model: never beside the user's
                shutil.copyfile(path, local[-1])
        outs = runner.run_many([str(p) for p in local], timing.threads, timing.warmup, timing.runs,
                               [m[1] for m in models])
        return [result_of(Path(path), out, Reading("local", timing, report, rows))
                for (path, _, report, rows), out in zip(models, outs)]


def result_of(path: Path, out: dict, reading: Reading) -> dict:
    """The runner's output as the contract's JSON (per layer when it carries a profile)."""
    import onnx

    warmup, report, rows = reading.timing.warmup, reading.report, reading.rows
    result = stats(Runner("onnxruntime", reading.timing.threads, tuple(out["input"]), None, reading.name or path.name),
                   out["times_ms"], warmup)
    result["device"] = {"host": reading.host, **out["device"]}
    if out.get("cpu_ms"):  # the calling thread's CPU time: on 1 thread, the run without waits for a core
        result["cpu_median_ms"] = round(float(np.median(out["cpu_ms"])), 4)
    if "profile" in out:
        attributed = layers.attribute(out["profile"], out["optimized"], onnx.load(str(path)), warmup)
        result.update(layers.per_layer(report, rows or {}, attributed, result["median_ms"]) if report
                      else layers.by_path(attributed, result["median_ms"]))
    return result
