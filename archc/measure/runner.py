"""The self-contained timing runner: copied to a device and run there as a script, and
imported here for local runs, so both time a model by the same rules. It needs only
Python 3 and onnxruntime (which brings numpy); it imports nothing from archc.

    python3 runner.py model.onnx --threads 1 --warmup 10 --runs 50 [--per-layer]

prints one JSON line: the device (CPU, ORT version, threads), the timed runs in ms
(warmup runs untimed) and, with --per-layer, the paths of ORT's Chrome-trace profile
and of the optimized graph it ran, written beside the model. Exit 3 with
{"error": "no-onnxruntime"} when onnxruntime cannot be imported.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; the platform's guess elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":")[0].strip() in ("model name", "Model", "Hardware"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def session(ort, model: str, threads: int, profile_prefix: str | None = None, optimized: str | None = None):
    """A CPU session like archc's: `threads` intra-op threads, sequential, no spinning."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads would steal the CPU
    if profile_prefix:
        opts.enable_profiling, opts.profile_file_prefix = True, profile_prefix
    if optimized:
        opts.optimized_model_filepath = optimized  # the fused graph, to map profile names back
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def feed(sess):
    """The seeded standard-normal input archc uses everywhere (numpy's default_rng(0))."""
    import numpy as np

    inp = sess.get_inputs()[0]
    dims = [d if isinstance(d, int) else 1 for d in inp.shape]
    return {inp.name: np.random.default_rng(0).standard_normal(dims, dtype=np.float32)}


def time_runs(sess, warmup: int, runs: int, beside=None) -> tuple[list[float], list[float]]:
    """(wall ms, CPU ms) of each timed run; `beside` (the profiling session) runs once after each,
    so that drift on a busy device hits the end-to-end and the per-layer figures alike."""
    x = feed(sess)
    times, cpu = [], []
    for i in range(warmup + runs):
        wall, used = timed(sess, x)
        if i >= warmup:
            times.append(wall)
            cpu.append(used)
        if beside is not None:
            beside.run(None, x)
    return times, cpu


def timed(sess, x) -> tuple[float, float]:
    """One run's wall-clock ms and the calling thread's CPU ms: on 1 thread ORT runs in the calling
    thread, so the CPU time is the run's own work, without the waits for a core of a loaded machine."""
    start, cpu = time.perf_counter(), time.thread_time()
    sess.run(None, x)
    return (time.perf_counter() - start) * 1e3, (time.thread_time() - cpu) * 1e3


def run(model: str, threads: int, warmup: int, runs: int, per_layer: bool) -> dict:
    import onnxruntime as ort

    sess, stem = session(ort, model, threads), os.path.splitext(model)[0]
    profiled = session(ort, model, threads, stem + ".profile", stem + ".optimized.onnx") if per_layer else None
    out = {"device": device(ort, threads),
           "input": [d if isinstance(d, int) else 1 for d in sess.get_inputs()[0].shape[1:]],
           **dict(zip(("times_ms", "cpu_ms"), time_runs(sess, warmup, runs, profiled)))}
    if per_layer:
        out["profile"], out["optimized"] = profiled.end_profiling(), stem + ".optimized.onnx"
    return out


def run_many(models: list, threads: int, warmup: int, runs: int, per_layer: list) -> list[dict]:
    """`run` for several models in one process, all their sessions (a profiled one beside the
    plain one where per_layer says so) run in a seeded random order each round, so that a
    load that changes during the minutes they take hits every model alike."""
    import numpy as np
    import onnxruntime as ort

    sessions = []  # (model index, session, timed: the plain one)
    for i, (model, layered) in enumerate(zip(models, per_layer)):
        stem = os.path.splitext(model)[0]
        sessions.append((i, session(ort, model, threads), True))
        if layered:
            sessions.append((i, session(ort, model, threads, stem + ".profile", stem + ".optimized.onnx"), False))
    feeds, rng = [feed(s) for _, s, _ in sessions], np.random.default_rng(0)
    times, cpu = [[] for _ in models], [[] for _ in models]
    for r in range(warmup + runs):
        for j in rng.permutation(len(sessions)):
            i, sess, plain = sessions[j]
            wall, used = timed(sess, feeds[j])
            if plain and r >= warmup:
                times[i].append(wall)
                cpu[i].append(used)
    out = [{"device": device(ort, threads),
            "input": [d if isinstance(d, int) else 1 for d in s.get_inputs()[0].shape[1:]],
            "times_ms": times[i], "cpu_ms": cpu[i]} for i, s, plain in sessions if plain]
    for i, sess, plain in sessions:
        if not plain:
            out[i]["profile"] = sess.end_profiling()
            out[i]["optimized"] = os.path.splitext(models[i])[0] + ".optimized.onnx"
    return out


def device(ort, threads: int) -> dict:
    return {"cpu": cpu_name(), "machine": platform.machine(), "python": platform.python_version(),
            "onnxruntime": ort.__version__, "threads": threads, "cores": os.cpu_count()}


def watch_stdin() -> None:
    """End this process when stdin reaches its end: over SSH without a tty, an interrupted or killed client
    sends no SIGHUP, but its session's stdin closes, so a timing left running cannot skew the next one."""
    import threading

    def wait():  # os.read, not sys.stdin: a daemon thread inside a buffered read aborts the interpreter's exit
        while os.read(0, 65536):
            pass
        os._exit(143)

    threading.Thread(target=wait, daemon=True).start()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="time an ONNX model in ONNX Runtime (CPU)")
    p.add_argument("model")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--per-layer", action="store_true")
    p.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes (the SSH session ended)")
    a = p.parse_args(argv)
    if a.watch_stdin:
        watch_stdin()
    if a.threads > (os.cpu_count() or 1):
        print(json.dumps({"error": "threads", "cores": os.cpu_count()}))
        return 4
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print(json.dumps({"error": "no-onnxruntime", "python": sys.executable}))
        return 3
    print(json.dumps(run(a.model, a.threads, a.warmup, a.runs, a.per_layer)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
