"""`archc benchmark SPEC`: the model built once (exported, simplified, verified), then run in
every runtime that is installed -- ONNX Runtime, PyTorch eager, OpenVINO, ncnn -- each checked
against PyTorch before it is timed, all timed with their runs interleaved so that a shared
machine's drift hits them alike. One row per runtime: size, median, p90, max difference,
latency relative to ONNX Runtime (as Ultralytics' benchmark mode does for export formats).

    archc benchmark specs/mobilenetv2.yaml --threads 1 --runs 50
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from archc.errors import ArchcError
from archc.measure import backends, profile as prof
from archc.deploy.artifacts import BuildOptions, produce

NAMES = ("ort", "torch", *backends.BACKENDS)


def benchmark(compiled, options: BuildOptions, names=NAMES) -> list[dict]:
    """One dict per runtime: the profile contract + bytes, max_abs_diff, vs_ort; or status + reason."""
    with tempfile.TemporaryDirectory(prefix="archc-bench-") as tmp:
        product = produce(compiled, Path(tmp), BuildOptions(threads=options.threads))
        return run_all(product, compiled.graph.input_shape, options, Path(tmp), names)


def run_all(product, shape, options: BuildOptions, tmp: Path, names=NAMES) -> list[dict]:
    """Every runtime on a verified build's float32 model, timed with their runs interleaved."""
    onnx_file = product.models["float32"]
    runners, rows = {}, {}
    for name in names:
        try:
            runners[name], rows[name] = _prepare(name, product, onnx_file, shape, options, tmp)
        except ArchcError as exc:  # a runtime that is missing or cannot run this model: say why
            rows[name] = {"runtime": {"ort": "onnxruntime"}.get(name, name), "status": "skipped",
                          "reason": exc.message}
    timed = prof.measure(runners, options.warmup, options.runs, options.progress)
    base = timed.get("ort", {}).get("median_ms")
    for name, result in timed.items():
        rows[name] = {**result, **rows[name], "status": "ok",
                      "vs_ort": round(result["median_ms"] / base, 3) if base else None}
    return [rows[name] for name in names]


def _prepare(name: str, product, onnx_file: Path, shape, options: BuildOptions, tmp: Path) -> tuple:
    """(Runner, extra row fields) for one runtime, verified against PyTorch."""
    size = onnx_file.stat().st_size
    if name == "ort":
        diff = product.summary["verify"]["max_abs_diff"]  # produce() checked it against PyTorch
        return prof.ort_runner(onnx_file, options.threads, onnx_file.name), {"bytes": size, "max_abs_diff": diff}
    if name == "torch":
        return prof.torch_runner(product.module, shape, options.threads), {"bytes": None, "max_abs_diff": 0.0}
    folder = tmp / name
    folder.mkdir(exist_ok=True)
    runner, diff, size = backends.verified_runner(name, onnx_file, product.module, shape, options.threads, folder)
    return runner, {"bytes": size, "max_abs_diff": diff}
