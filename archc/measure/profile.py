"""Latency: ONNX Runtime (CPU) and PyTorch eager (inference_mode), with warmup runs
never timed, and the runs of several models interleaved so that drift in a shared,
noisy machine hits all of them alike (imports onnxruntime; torch only for eager)."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from archc.onnx import runtime
from archc.errors import ExportError
from archc.measure.timing import Timing

RUNTIMES = ("ort", "torch", "both", "openvino", "ncnn", "litert")


@dataclass
class Runner:
    runtime: str  # "onnxruntime" or "torch", as in the profile JSON
    threads: int
    input: tuple  # (C, H, W)
    run: Callable[[], object]
    model: str = ""  # which model: a file name, or "eager"


def ort_runner(model, threads: int = 1, name: str = "") -> Runner:
    """One ONNX Runtime session on `threads` threads, fed a fixed seeded input."""
    sess = runtime.session(model, threads)
    shape = runtime.input_shape(sess, name or str(model))
    x = runtime.inputs(shape)[0]
    runtime.run_ort(sess, x)  # a model that fails at run time fails here, as one line, before any timing
    return Runner("onnxruntime", threads, shape, lambda: runtime.run_ort(sess, x), name or str(model))


def torch_runner(module, shape, threads: int = 1) -> Runner:
    """PyTorch eager under inference_mode; sets torch's (process-wide) thread count."""
    import torch

    torch.set_num_threads(threads)
    x = torch.from_numpy(runtime.inputs(shape)[0])

    def run():
        with torch.inference_mode():
            return module(x)

    return Runner("torch", threads, tuple(shape), run, "eager")


def measure(runners: dict, warmup: int = 10, runs: int = 50, progress=None) -> dict:
    """Profile each runner: name -> the profile dict (see `interleave`)."""
    times = interleave(runners, warmup, runs, progress)
    return {name: stats(runners[name], ms, warmup) for name, ms in times.items()}


def interleave(runners: dict, warmup: int = 10, runs: int = 50, progress=None, clock=time.perf_counter) -> dict:
    """Time each runner `runs` times after `warmup` untimed runs, interleaved in a seeded
    random order each round: rotating a fixed order would keep each runner behind the
    same one, and what runs just before matters (torch's OpenMP threads spin on after
    a run). Name -> times in ms, round by round, so that runs of a round can be paired.
    `clock`: wall time, or `time.thread_time` for the CPU time of a runner that computes on
    the calling thread (benchmarks on a shared machine)."""
    check_runs(runs, warmup)
    names, rng = list(runners), np.random.default_rng(0)
    times = {name: [] for name in names}
    bar = progress(len(names) * (warmup + runs), "profiling") if progress else contextlib.nullcontext(lambda: None)
    with bar as step:
        for i in range(warmup + runs):
            for name in rng.permutation(names):
                start = clock()
                runners[name].run()
                elapsed = clock() - start
                if i >= warmup:
                    times[name].append(elapsed * 1e3)
                step()
    return times


def stats(runner: Runner, ms: list, warmup: int) -> dict:
    """The `profile --json` contract, plus which model was timed."""
    a = np.asarray(ms)
    median = float(np.median(a))
    return {"runtime": runner.runtime, "threads": runner.threads, "input": list(runner.input), "warmup": warmup,
            "runs": len(ms), "median_ms": round(median, 4), "p90_ms": round(float(np.percentile(a, 90)), 4),
            "mean_ms": round(float(a.mean()), 4), "std_ms": round(float(a.std(ddof=1)) if len(a) > 1 else 0.0, 4),
            "fps": round(1e3 / median, 2), "model": runner.model}


def check_runtime(runtime_: str, onnx_file: bool, runner_script: bool = False) -> None:
    if runtime_ not in RUNTIMES:
        raise ExportError(f"--runtime {runtime_}: choose one of {', '.join(RUNTIMES)}")
    if runner_script and runtime_ != "ort":
        raise ExportError(f"--runtime {runtime_}: --host times ONNX Runtime only, and --per-layer ONNX Runtime "
                          f"or OpenVINO; use --runtime ort")
    if onnx_file and runtime_ != "ort":
        raise ExportError(f"--runtime {runtime_}: an .onnx file runs in ONNX Runtime only; give the spec "
                          f"to time PyTorch eager or to verify {runtime_} against PyTorch")


def check_runs(runs: int, warmup: int) -> None:
    if runs < 1 or warmup < 0:
        raise ExportError(f"--runs must be >= 1 and --warmup >= 0 (got runs={runs}, warmup={warmup})")


def check_threads(threads: int, remote: bool = False) -> None:
    """1 or more, and (timed here) at most this machine's cores: more only grows memory and queues."""
    if threads < 1:
        raise ExportError(f"--threads {threads}: give 1 or more (1 is the most stable)")
    cores = cores_here()
    if not remote and threads > cores:
        raise ExportError(f"--threads {threads}: this machine has {cores} cores; give at most {cores}")
    if threads > 1024:
        raise ExportError(f"--threads {threads}: give at most 1024 (the device's runner checks its own cores)")


def cores_here() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def latency(ref_path, q_path, mode: str, timing: Timing = Timing(), progress=None) -> dict:
    """Median latency of float32 and the quantized model, runs interleaved."""
    results = measure({"float32": ort_runner(ref_path, timing.threads),
                       mode: ort_runner(q_path, timing.threads)}, timing.warmup, timing.runs, progress)
    return speedup(results["float32"], results[mode], mode)


def speedup(f32: dict, q: dict, mode: str) -> dict:
    """Median latencies (profile dicts of the same interleaved runs) and their ratio."""
    return {"threads": f32["threads"], "runs": f32["runs"], "float32_median_ms": f32["median_ms"],
            f"{mode}_median_ms": q["median_ms"], "speedup": round(f32["median_ms"] / q["median_ms"], 3)}
