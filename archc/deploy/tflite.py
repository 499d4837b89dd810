"""The build's LiteRT stage (`archc build --format tflite|all`): model.tflite converted from the same
torch module as model.onnx, verified against PyTorch by the ONNX rule, and with `--pass quantize=MODE`
model.MODE.tflite (int8 calibrated on --calib images normalized as the spec says)."""
from __future__ import annotations

from pathlib import Path

from archc.errors import ExportError

FORMATS = ("onnx", "tflite", "all")


def formats(text: str) -> tuple:
    """`--format onnx|tflite|all` -> the formats written."""
    if text not in FORMATS:
        raise ExportError(f"--format {text}: choose onnx, tflite or all")
    return ("onnx", "tflite") if text == "all" else (text,)


def check(options, compiled) -> None:
    """Refuse before seconds of export: the extra is missing, or an option LiteRT files cannot honour."""
    from archc.litert import require

    if "tflite" not in options.formats:
        return
    require("litert_torch", "ai_edge_litert", *(("ai_edge_quantizer",) if compiled.quantize else ()),
            what="--format tflite")
    if options.dynamic_batch:
        raise ExportError("--dynamic-batch: a .tflite file has a fixed batch of 1 here; drop it or use --format onnx")
    if options.profile and options.target.special:
        raise ExportError("--profile with --host or --per-layer times ONNX files with the runner script, not .tflite "
                          "ones; drop --host/--per-layer to time LiteRT here, or build with --format onnx")


def add_tflite(product, compiled, folder: Path, options) -> None:
    """Convert, verify and (with a quantize pass) quantize into `folder`; entries into product."""
    from archc.litert.convert import convert
    from archc.litert.interpreter import Model
    from archc.litert.verify import depth, verify

    shape = compiled.graph.input_shape
    path = convert(product.module, shape, folder / "model.tflite", compiled.graph.name)
    model = Model(path)
    checked = verify(model, product.module, shape, depth(compiled.graph))
    product.summary["tflite"] = {"file": path.name, "bytes": model.bytes, "converter": "litert-torch",
                                 **model.layout, "verify": checked}
    product.tflite = {"float32": path}
    if compiled.quantize is not None:
        from archc.litert.quantize import quantize

        q_path, report, warning = quantize(path, compiled.quantize, shape, options.calib,
                                           compiled.spec.normalization())
        product.summary["tflite"]["quantize"] = {**report, **Model(q_path).layout}
        product.tflite[compiled.quantize.mode] = q_path
        if warning and warning not in product.warnings:
            product.warnings.append(warning)


def runners(models: dict, threads: int) -> dict:
    """Profile runners for the build's .tflite files, keyed by file name."""
    from archc.measure.backends.litert import runner

    return {path.name: runner(path, threads, path.name) for path in models.values()}


def profile_files(models: list, options) -> list:
    """Models as they are (a build folder's .onnx and .tflite files, or one .tflite), interleaved:
    ONNX files in ONNX Runtime, .tflite files in LiteRT (XNNPACK, `options.threads`)."""
    from archc.measure import profile as prof

    if options.target.special:
        raise ExportError("--host and --per-layer time ONNX files with the runner script; a .tflite file is timed "
                          "here, end to end: drop them (or give model.onnx)")
    runners = {m.name: prof.ort_runner(m, options.threads, m.name) for m in models if m.suffix == ".onnx"}
    runners.update(runners_of([m for m in models if m.suffix == ".tflite"], options.threads))
    return list(prof.measure(runners, options.warmup, options.runs, options.progress).values())


def runners_of(paths: list, threads: int) -> dict:
    return runners({p.name: p for p in paths}, threads)
