"""`archc build --out DIR`: the transformed spec, its summary, the verified ONNX model
and, with a quantize pass, the quantized one, written atomically (all of them or none).

The stages, one per line in `produce`: export -> simplify + verify -> quantize -> profile.
"""
from __future__ import annotations

import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from archc.compile import Compiled
from archc.deploy import tflite
from archc.lang.emit import emit
from archc.errors import ArchcError, ExportError
from archc.fs import atomic_dir, temp_dir
from archc.measure import backends, profile as prof
from archc.onnx.calib import files as calib_files
from archc.onnx.export import check_dynamic_hw, export_onnx, save_checked
from archc.measure.layers import rows_of
from archc.onnx.quantize import quantize
from archc.measure.profile import latency, speedup
from archc.measure.targets import Target, profile_model
from archc.measure.timing import Timing
from archc.onnx.verify import SAMPLES, SEED, check_simplifier, simplify_and_verify
from archc.torch.checkpoint import save_weights
from archc.torch.weights import lowered


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
    simplifier: str | None = None  # onnxsim or onnxslim (None: verify.DEFAULT_SIMPLIFIER)
    weights: dict | None = None  # a state_dict keyed by spec path (--weights, already paired); None: seeded
    module: object = None  # or the lowered module that already holds them: exported as it is, not lowered again
    target: Target = Target()  # this machine or a device over SSH; end to end or per layer
    formats: tuple = ("onnx",)  # and/or "tflite" (`--format`, see deploy/tflite.py)

    @property
    def timing(self) -> Timing:
        return Timing(self.threads, self.runs, self.warmup)

    def check(self, compiled: Compiled) -> None:
        """The cheap checks, before seconds of export are spent."""
        prof.check_threads(self.threads, self.target.host is not None)
        if self.profile or compiled.quantize is not None:
            prof.check_runs(self.runs, self.warmup)
        if self.calib is not None and getattr(compiled.quantize, "mode", None) != "int8":
            raise ArchcError(f"--calib {self.calib}: calibration is for --pass quantize=int8; add it or drop --calib")
        if self.calib is not None:
            calib_files(self.calib, 1)
        tflite.check(self, compiled)
        if self.dynamic_hw:
            check_dynamic_hw(compiled.graph)
        check_simplifier(self.simplifier)


@dataclass
class Product:
    summary: dict  # what goes into summary.json beside the analysis
    module: object  # the torch module the ONNX model matches
    models: dict = field(default_factory=dict)  # "float32" / mode -> path
    warnings: list = field(default_factory=list)
    tflite: dict = field(default_factory=dict)  # "float32" / mode -> .tflite path (--format tflite|all)


def write_build(compiled: Compiled, out: str | Path, force: bool = False, note: str = "",
                options: BuildOptions = BuildOptions()) -> dict:
    """Write spec.yaml, summary.json, model.onnx (and model.<mode>.onnx) into `out`; return the summary."""
    options.check(compiled)
    summary = compiled.report.to_json()
    with atomic_dir(out, force) as tmp:  # its manifest lists what is written here; nothing else is touched
        (tmp / "spec.yaml").write_text(emit(compiled.spec, note))
        product = produce(compiled, tmp, options)
        save_weights(product.module, tmp / "weights.pt")  # the exported weights, keyed by spec path
        if options.profile:
            product.summary["profile"] = profile(product, compiled.graph.input_shape, options,
                                                 torch=not options.target.special, compiled=compiled)
            _latency_from_profile(product.summary)
        summary.update(product.summary)
        summary["warnings"] = product.warnings
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def produce(compiled: Compiled, folder: Path, options: BuildOptions) -> Product:
    """Export, simplify, verify and quantize into `folder` (ONNX and/or LiteRT, `options.formats`)."""
    graph, shape = compiled.graph, compiled.graph.input_shape
    options.check(compiled)
    if "onnx" not in options.formats:  # LiteRT alone: the same seeded (or given) weights, no ONNX file
        product = Product({}, lowered(graph, options.weights))
        tflite.add_tflite(product, compiled, folder, options)
        return product
    with _stages(options, 2) as step:
        given = {"module": options.module} if options.module is not None else {"weights": options.weights}
        exported = export_onnx(graph, folder / "model.onnx", options.dynamic_batch, **given)  # BN folded
        step(f"exported {exported.nodes} ONNX nodes")
        checked = simplify_and_verify(exported, shape, options.simplifier)  # kept only if ORT still matches PyTorch
        save_checked(checked.model, exported.path)
        step(f"{'simplified to' if checked.simplified else 'kept'} {checked.nodes} nodes, verified against PyTorch")
    product = _product(checked, exported, options)
    if compiled.quantize is not None:  # outside the stages: its timing has a bar of its own
        _quantize(product, compiled.quantize, shape, options, compiled.spec.normalization())
    if "tflite" in options.formats:
        tflite.add_tflite(product, compiled, folder, options)
    return product


def _stages(options: BuildOptions, total: int):
    """One progress step per finished stage (a bar on terminals, a plain line in logs)."""
    if options.progress is None:
        return contextlib.nullcontext(lambda *args, **kwargs: None)
    return options.progress(total, "build")


def _product(checked, exported, options: BuildOptions) -> Product:
    product = Product({"onnx": _onnx_entry(checked, exported.path, options.dynamic_batch),
                       "verify": {"runtime": "onnxruntime", "against": "torch", "max_abs_diff": checked.max_abs_diff,
                                  "tolerance": checked.tolerance, "output_max_abs": checked.output_scale,
                                  "inputs": _verify_inputs(options.dynamic_batch)}},
                      exported.module, {"float32": exported.path})
    if checked.note:
        product.warnings.append(f"kept the unsimplified model: {checked.note}")
    return product


def _onnx_entry(checked, path: Path, dynamic_batch: bool) -> dict:
    ops = Counter(n.op_type for n in checked.model.graph.node)
    return {"file": path.name, "bytes": path.stat().st_size, "opset": checked.model.opset_import[0].version,
            "dynamic_batch": dynamic_batch, **checked.to_json(),
            "batchnorm_left": ops.get("BatchNormalization", 0), "ops": dict(sorted(ops.items()))}


def _verify_inputs(dynamic_batch: bool) -> str:
    return f"{SAMPLES} seeded standard-normal inputs (seed {SEED})" + (", and a batch of 2" if dynamic_batch else "")


def _quantize(product: Product, qpass, shape, options: BuildOptions, normalize=None) -> None:
    timing = None if options.profile else options.timing  # with --profile, taken from the interleaved profile
    q = quantize(product.models["float32"], qpass, shape, options.calib, normalize)
    if timing is not None:
        q.report["latency"] = prof.latency(product.models["float32"], q.path, qpass.mode, timing, options.progress)
    product.summary["quantize"] = q.report
    product.models[qpass.mode] = q.path
    if q.warning:
        product.warnings.append(q.warning)


def profile(product: Product, shape, options: BuildOptions, ort: bool = True, torch: bool = False,
            compiled: Compiled | None = None) -> list:
    """Every model of the build in ONNX Runtime (and PyTorch eager), runs interleaved;
    on a device or per layer, one model after the other by the runner script."""
    if options.target.special:
        report, rows = (compiled.report, rows_of(compiled.graph)) if compiled else (None, None)
        return [profile_model(path, options.target, options.timing, report, rows)
                for path in product.models.values()]
    runners = {name: prof.ort_runner(path, options.threads, path.name)
               for name, path in product.models.items()} if ort else {}
    runners.update(tflite.runners(product.tflite, options.threads))
    if torch:
        runners["torch"] = prof.torch_runner(product.module, shape, options.threads)
    return list(prof.measure(runners, options.warmup, options.runs, options.progress).values())


def _latency_from_profile(summary: dict) -> None:
    """The quantized models' speed-ups, from the same interleaved runs as the profile."""
    by_file = {p["model"]: p for p in summary["profile"]}
    for fmt in ("onnx", "tflite"):
        q = (summary if fmt == "onnx" else summary.get("tflite", {})).get("quantize")
        if q is not None and fmt in summary:
            q["latency"] = speedup(by_file[summary[fmt]["file"]], by_file[q["file"]], q["mode"])


def profile_target(target, compiled, runtime_: str, options) -> tuple[list, list]:
    """Profile an .onnx file (compiled None) or a compiled spec, built exactly as
    `archc build` would (exported, simplified, verified, quantized) in a temporary folder."""
    counted = runtime_ == "openvino" and options.target.host is None  # OpenVINO's own per-layer counters
    tflite_file = compiled is None and Path(target).suffix == ".tflite"  # timed in LiteRT, whatever --runtime says
    prof.check_runtime(runtime_, compiled is None and not tflite_file, options.target.special and not counted)
    prof.check_threads(options.threads, options.target.host is not None)
    prof.check_runs(options.runs, options.warmup)
    if compiled is None:
        models = onnx_models(target)
        if any(m.suffix == ".tflite" for m in models):
            return tflite.profile_files(models, options), []
        if options.target.special:
            return [profile_model(m, options.target, options.timing)
                    for m in models], []
        runners = {path.name: prof.ort_runner(path, options.threads, path.name) for path in models}
        return list(prof.measure(runners, options.warmup, options.runs, options.progress).values()), []
    shape = compiled.graph.input_shape
    if runtime_ == "torch":  # no export needed
        module = options.module if options.module is not None else lowered(compiled.graph, options.weights)
        runner = prof.torch_runner(module, shape, options.threads)
        unused = [f"--pass {compiled.quantize.describe()} acts on the ONNX model; PyTorch eager runs float32"
                  ] if compiled.quantize else []
        return list(prof.measure({"torch": runner}, options.warmup, options.runs, options.progress).values()), unused
    options = replace(options, profile=True)  # the quantized model is timed here, not twice
    with temp_dir("archc-profile") as tmp:
        product = produce(compiled, tmp, options)
        if runtime_ in backends.BACKENDS:
            return _profile_backend(runtime_, product, shape, options, tmp, compiled), product.warnings
        return profile(product, shape, options, torch=runtime_ == "both", compiled=compiled), product.warnings


def _profile_backend(name: str, product: Product, shape, options: BuildOptions, folder: Path, compiled) -> list:
    """The float32 model in OpenVINO or ncnn, verified against PyTorch first; `max_abs_diff` added;
    per layer (OpenVINO): its performance counters mapped to the spec like ORT's profile."""
    runner, diff, size = backends.verified_runner(name, product.models["float32"], product.module, shape,
                                                  options.threads, folder)
    if options.target.per_layer:
        from archc.measure.backends.openvino_layers import profile as counted

        result = counted(product.models["float32"], runner, compiled.report, rows_of(compiled.graph), options.timing)
        return [{**result, "max_abs_diff": diff, "bytes": size}]
    result = prof.measure({name: runner}, options.warmup, options.runs, options.progress)[name]
    return [{**result, "max_abs_diff": diff, "bytes": size}]


def onnx_models(target) -> list[Path]:
    """An .onnx or .tflite file, or a build folder's model.onnx / model.tflite and their quantized
    siblings (timed as they are)."""
    target = Path(target)
    if target.is_dir():
        found = [m for ext in ("onnx", "tflite") if (target / f"model.{ext}").is_file()
                 for m in (target / f"model.{ext}", *sorted(target.glob(f"model.*.{ext}")))]
        if not found:
            raise ExportError(f"{target}: no model.onnx in this folder; write one with "
                              f"`archc build SPEC --out {target}`")
        return found
    if not target.is_file():
        raise ExportError(f"{target}: " + ("not a regular file" if target.exists() else "no such file")
                          + "; give an .onnx model file")
    return [target]
