"""`archc build --out DIR`: the transformed spec, its summary, the verified ONNX model
and, with a quantize pass, the quantized one, written atomically (all of them or none).

The stages, one per line in `produce`: export -> simplify + verify -> quantize -> profile.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from archc.compile import Compiled
from archc.lang.emit import emit
from archc.errors import ArchcError, ExportError
from archc.fs import atomic_dir, temp_dir
from archc.onnx import profile as prof
from archc.onnx.calib import files as calib_files
from archc.onnx.export import check_dynamic_hw, export_onnx, save_checked
from archc.onnx.quantize import quantize, speedup
from archc.onnx.verify import SAMPLES, SEED, simplify_and_verify
from archc.torch.weights import lower_seeded


@dataclass(frozen=True)
class BuildOptions:
    dynamic_batch: bool = False
    dynamic_hw: bool = False  # refused unless provably correct (see export.check_dynamic_hw)
    calib: Path | None = None  # folder of calibration images for quantize=int8
    profile: bool = False  # time the models and add the figures to summary.json
    threads: int = 1
    warmup: int = 5
    runs: int = 30
    progress: Callable | None = None  # render.progress, for long timings

    @property
    def timing(self) -> dict:
        return {"threads": self.threads, "warmup": self.warmup, "runs": self.runs, "progress": self.progress}

    def check(self, compiled: Compiled) -> None:
        """The cheap checks, before seconds of export are spent."""
        prof.check_threads(self.threads)
        if self.profile or compiled.quantize is not None:
            prof.check_runs(self.runs, self.warmup)
        if self.calib is not None and getattr(compiled.quantize, "mode", None) != "int8":
            raise ArchcError(f"--calib {self.calib}: calibration is for --pass quantize=int8; add it or drop --calib")
        if self.calib is not None:
            calib_files(self.calib, 1)
        if self.dynamic_hw:
            check_dynamic_hw(compiled.graph)


@dataclass
class Product:
    summary: dict  # what goes into summary.json beside the analysis
    module: object  # the torch module the ONNX model matches
    models: dict = field(default_factory=dict)  # "float32" / mode -> path
    warnings: list = field(default_factory=list)


def write_build(compiled: Compiled, out: str | Path, force: bool = False, note: str = "",
                options: BuildOptions = BuildOptions()) -> dict:
    """Write spec.yaml, summary.json, model.onnx (and model.<mode>.onnx) into `out`; return the summary."""
    options.check(compiled)
    summary = compiled.report.to_json()
    with atomic_dir(out, force) as tmp:  # its manifest lists what is written here; nothing else is touched
        (tmp / "spec.yaml").write_text(emit(compiled.spec, note))
        product = produce(compiled, tmp, options)
        if options.profile:
            product.summary["profile"] = profile(product, compiled.graph.input_shape, options, torch=True)
            _latency_from_profile(product.summary)
        summary.update(product.summary)
        summary["warnings"] = product.warnings
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def produce(compiled: Compiled, folder: Path, options: BuildOptions) -> Product:
    """Export, simplify, verify and quantize into `folder`."""
    graph, shape = compiled.graph, compiled.graph.input_shape
    options.check(compiled)
    exported = export_onnx(graph, folder / "model.onnx", options.dynamic_batch)  # BN folded, named by spec path
    checked = simplify_and_verify(exported, shape)  # onnxsim kept only if ORT still matches PyTorch
    save_checked(checked.model, exported.path)
    product = Product({"onnx": _onnx_entry(checked, exported.path, options.dynamic_batch),
                       "verify": {"runtime": "onnxruntime", "against": "torch", "max_abs_diff": checked.max_abs_diff,
                                  "tolerance": checked.tolerance, "output_max_abs": checked.output_scale,
                                  "inputs": _verify_inputs(options.dynamic_batch)}},
                      exported.module, {"float32": exported.path})
    if checked.note:
        product.warnings.append(f"kept the unsimplified model: {checked.note}")
    if compiled.quantize is not None:
        _quantize(product, compiled.quantize, shape, options)
    return product


def _onnx_entry(checked, path: Path, dynamic_batch: bool) -> dict:
    ops = Counter(n.op_type for n in checked.model.graph.node)
    return {"file": path.name, "bytes": path.stat().st_size, "opset": checked.model.opset_import[0].version,
            "dynamic_batch": dynamic_batch, **checked.to_json(),
            "batchnorm_left": ops.get("BatchNormalization", 0), "ops": dict(sorted(ops.items()))}


def _verify_inputs(dynamic_batch: bool) -> str:
    return f"{SAMPLES} seeded standard-normal inputs (seed {SEED})" + (", and a batch of 2" if dynamic_batch else "")


def _quantize(product: Product, qpass, shape, options: BuildOptions) -> None:
    timing = None if options.profile else options.timing  # with --profile, taken from the interleaved profile
    q = quantize(product.models["float32"], qpass, shape, options.calib, timing)
    product.summary["quantize"] = q.report
    product.models[qpass.mode] = q.path
    if q.warning:
        product.warnings.append(q.warning)


def profile(product: Product, shape, options: BuildOptions, ort: bool = True, torch: bool = False) -> list:
    """Every model of the build in ONNX Runtime (and PyTorch eager), runs interleaved."""
    runners = {name: prof.ort_runner(path, options.threads, path.name)
               for name, path in product.models.items()} if ort else {}
    if torch:
        runners["torch"] = prof.torch_runner(product.module, shape, options.threads)
    return list(prof.measure(runners, options.warmup, options.runs, options.progress).values())


def _latency_from_profile(summary: dict) -> None:
    """The quantized model's speed-up, from the same interleaved runs as the profile."""
    q = summary.get("quantize")
    if q is None:
        return
    by_file = {p["model"]: p for p in summary["profile"]}
    q["latency"] = speedup(by_file[summary["onnx"]["file"]], by_file[q["file"]], q["mode"])


def profile_target(target, compiled, runtime_: str, options) -> tuple[list, list]:
    """Profile an .onnx file (compiled None) or a compiled spec, built exactly as
    `archc build` would (exported, simplified, verified, quantized) in a temporary folder."""
    prof.check_runtime(runtime_, compiled is None)
    prof.check_threads(options.threads)
    prof.check_runs(options.runs, options.warmup)
    if compiled is None:
        if not Path(target).is_file():
            raise ExportError(f"{target}: " + ("not a regular file" if Path(target).exists() else "no such file")
                              + "; give an .onnx model file")
        runner = prof.ort_runner(target, options.threads, Path(target).name)
        return list(prof.measure({"model": runner}, options.warmup, options.runs, options.progress).values()), []
    shape = compiled.graph.input_shape
    if runtime_ == "torch":  # no export needed
        runner = prof.torch_runner(lower_seeded(compiled.graph), shape, options.threads)
        unused = [f"--pass {compiled.quantize.describe()} acts on the ONNX model; PyTorch eager runs float32"
                  ] if compiled.quantize else []
        return list(prof.measure({"torch": runner}, options.warmup, options.runs, options.progress).values()), unused
    options = replace(options, profile=True)  # the quantized model is timed here, not twice
    with temp_dir("archc-profile") as tmp:
        product = produce(compiled, tmp, options)
        return profile(product, shape, options, torch=runtime_ == "both"), product.warnings
