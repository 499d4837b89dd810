"""`archc benchmark SPEC`: the model built once (exported, simplified, verified), then run in
every runtime that is installed -- ONNX Runtime, PyTorch eager, OpenVINO, ncnn, LiteRT -- each checked
against PyTorch before it is timed, all timed with their runs interleaved so that a shared
machine's drift hits them alike. One row per runtime: size, median, p90, max difference,
latency relative to ONNX Runtime (as Ultralytics' benchmark mode does for export formats). With
`--pass quantize=MODE`, the quantized ONNX (and, with LiteRT installed, .tflite) model gets a row too;
`recommend` names the fastest float32 runtime and says where the quantized model is slower.

    archc benchmark specs/mobilenetv2.yaml --threads 1 --runs 50
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from archc.errors import ArchcError
from archc.measure import backends, profile as prof
from archc.deploy.artifacts import BuildOptions, produce
from archc.deploy.tflite import add_tflite

NAMES = ("ort", "torch", *backends.BACKENDS)


def benchmark(compiled, options: BuildOptions, names=NAMES) -> list[dict]:
    """One dict per runtime: the profile contract + bytes, max_abs_diff, vs_ort; or status + reason."""
    tflite = "litert" in names and backends.available("litert")  # converted and verified once, by the build
    with tempfile.TemporaryDirectory(prefix="archc-bench-") as tmp:
        product = produce(compiled, Path(tmp), BuildOptions(threads=options.threads))
        if tflite:
            try:
                add_tflite(product, compiled, Path(tmp), BuildOptions(threads=options.threads))
            except ArchcError as exc:  # a converter refusal skips LiteRT's row, not the benchmark
                product.summary["tflite_error"] = exc.message
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
    for name, runner, row in _quantized(product, options):
        runners[name], rows[name] = runner, row
    timed = prof.measure(runners, options.warmup, options.runs, options.progress)
    base = timed.get("ort", {}).get("median_ms")
    for name, result in timed.items():
        rows[name] = {**result, **rows[name], "status": "ok",
                      "vs_ort": round(result["median_ms"] / base, 3) if base else None}
    return [{"precision": "float32", **rows[name]} for name in rows]


def _quantized(product, options: BuildOptions):
    """(name, Runner, row) for each quantized model of the build: ORT's .onnx, LiteRT's .tflite."""
    from archc.deploy.tflite import runners as tflite_runners

    for fmt, models, runtime_ in (("onnx", product.models, "onnxruntime"), ("tflite", product.tflite, "litert")):
        for mode, path in models.items():
            if mode == "float32":
                continue
            runner = (prof.ort_runner(path, options.threads, path.name) if fmt == "onnx"
                      else tflite_runners({mode: path}, options.threads)[path.name])
            report = (product.summary["quantize"] if fmt == "onnx" else product.summary["tflite"]["quantize"])
            yield f"{'ort' if fmt == 'onnx' else 'litert'} {mode}", runner, {
                "runtime": runtime_, "precision": mode, "bytes": path.stat().st_size,
                "max_abs_diff": report["fidelity"]["max_abs_diff"], "diff_against": "float32"}


def recommend(rows: list, flags: dict | None = None) -> list[str]:
    """The fastest float32 runtime, and each quantized model that is slower than its runtime's float32."""
    ok = [r for r in rows if r["status"] == "ok"]
    f32 = {r["runtime"]: r for r in ok if r["precision"] == "float32"}
    if not f32:
        return []
    best = min(f32.values(), key=lambda r: r["median_ms"])
    lines = [f"fastest float32 runtime here: {best['runtime']} ({best['median_ms']:.3f} ms median)"]
    flags = cpu_flags() if flags is None else flags
    cpu = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in flags.items())
    for r in ok:
        ref = f32.get(r["runtime"])
        if r["precision"] != "float32" and ref and r["median_ms"] > ref["median_ms"]:
            why = ("" if flags.get("vnni") else ": int8 kernels pay on ARM and on x86 with VNNI, which this CPU lacks")
            lines.append(f"{r['precision']} is slower than float32 in {r['runtime']} on this CPU "
                         f"({r['median_ms']:.3f} vs {ref['median_ms']:.3f} ms median; {cpu}){why}")
    return lines


def cpu_flags() -> dict:
    """Which of the x86 vector extensions int8 kernels use this CPU has (Linux /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as f:
            words = set(next((ln for ln in f if ln.startswith("flags")), "").split())
    except OSError:
        words = set()
    return {"avx2": "avx2" in words, "avx512": "avx512f" in words,
            "vnni": bool({"avx512_vnni", "avx_vnni"} & words)}


def _prepare(name: str, product, onnx_file: Path, shape, options: BuildOptions, tmp: Path) -> tuple:
    """(Runner, extra row fields) for one runtime, verified against PyTorch."""
    size = onnx_file.stat().st_size
    if name == "ort":
        diff = product.summary["verify"]["max_abs_diff"]  # produce() checked it against PyTorch
        return prof.ort_runner(onnx_file, options.threads, onnx_file.name), {"bytes": size, "max_abs_diff": diff}
    if name == "torch":
        return prof.torch_runner(product.module, shape, options.threads), {"bytes": None, "max_abs_diff": 0.0}
    if name == "litert" and "tflite_error" in product.summary:
        raise ArchcError(product.summary["tflite_error"])
    if name == "litert" and product.tflite:  # the build's model.tflite, verified by the ONNX rule
        from archc.deploy.tflite import runners as tflite_runners

        path = product.tflite["float32"]
        return tflite_runners({"float32": path}, options.threads)[path.name], {
            "runtime": "litert", "bytes": path.stat().st_size,
            "max_abs_diff": product.summary["tflite"]["verify"]["max_abs_diff"]}
    folder = tmp / name
    folder.mkdir(exist_ok=True)
    runner, diff, size = backends.verified_runner(name, onnx_file, product.module, shape, options.threads, folder)
    return runner, {"bytes": size, "max_abs_diff": diff}
