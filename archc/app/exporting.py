"""The commands that export and time: build, profile, benchmark, latency fit."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archc.app import requests as rq
from archc.app.common import compiled, from_run, paired
from archc.app.values import QUIET, Hooks
from archc.errors import ArchcError


@dataclass(frozen=True)
class Built:
    summary: dict  # summary.json's content
    report: object  # ir.analysis.Report
    out: Path


def build(request: rq.Build, hooks: Hooks = QUIET) -> Built:
    """Write OUT/spec.yaml, summary.json, model.onnx (simplified, verified against PyTorch) and, with a
    quantize pass, the quantized model; a checkpoint is paired (and carried) once, into the module exported."""
    from archc.deploy.artifacts import BuildOptions, write_build
    from archc.deploy.tflite import formats
    from archc.measure.profile import check_threads
    from archc.onnx.verify import check_simplifier

    formats_ = formats(request.format)
    t = request.timing
    check_threads(t.threads, request.device.host is not None)
    check_simplifier(request.simplifier)
    source, weights = from_run(request.source, request.weights)  # archc build RUN: what train trained
    c = compiled(source, hooks)
    pair = paired(c, source, weights, hooks)  # before anything is written
    options = BuildOptions(request.dynamic_batch, request.dynamic_hw, request.calib, request.profile, t.threads,
                           t.warmup, t.runs, hooks.progress, request.simplifier, target=request.device.target(),
                           module=pair.module if pair else None, formats=formats_)
    note = request.note or f"written by archc.app.build({source.spec!r}, {list(source.passes)!r})"
    return Built(write_build(c, request.out, request.force, note, options), c.report, request.out)


@dataclass(frozen=True)
class Profiled:
    results: list  # one `profile --json` dict per model timed
    warnings: list


def profile(request: rq.Profile, hooks: Hooks = QUIET) -> Profiled:
    """Latency of a spec (built as `build` would), an .onnx model or a build folder."""
    from archc.app.values import Source
    from archc.deploy.artifacts import BuildOptions, profile_target
    from archc.lang.library import resolve_spec

    target, source = Path(request.target), request.source or Source(request.target)
    built = target.suffix in (".onnx", ".tflite") or target.is_dir()  # a model, or a build folder: timed as it is
    if built and (source.passes or source.input or source.variables or request.weights.file):
        raise ArchcError(f"{target}: --pass, --input, --var and --weights apply to a spec, not to a built model")
    target = target if built else resolve_spec(target)
    c = None if built else compiled(Source(target, source.passes, source.input, source.variables), hooks)
    pair = paired(c, Source(target, source.passes, None, source.variables), request.weights, hooks) if c else None
    t = request.timing
    options = BuildOptions(calib=request.calib, threads=t.threads, warmup=t.warmup, runs=t.runs,
                           progress=hooks.progress, target=request.device.target(),
                           module=pair.module if pair else None)
    results, warnings = profile_target(target, c, request.runtime, options)
    return Profiled(results, warnings)


def benchmark(request: rq.Benchmark, hooks: Hooks = QUIET) -> list:
    """SPEC built once and timed in every installed runtime, each verified against PyTorch first."""
    from archc.deploy.artifacts import BuildOptions
    from archc.deploy.benchmark import benchmark as run_benchmark
    from archc.measure.profile import check_threads

    t = request.timing
    check_threads(t.threads)
    options = BuildOptions(threads=t.threads, warmup=t.warmup, runs=t.runs, progress=hooks.progress)
    return run_benchmark(compiled(request.source, hooks), options)


def latency_fit(request: rq.LatencyFit, hooks: Hooks = QUIET) -> dict:
    """Probe configurations of a spec per layer (here or on a device), fit per-op-kind costs, write the
    model file; returns its JSON."""
    from archc.measure.profile import check_threads
    from archc.sweep.latency_fit import Probing, fit_spec
    from archc.sweep.sweep import parse_grid

    if request.measurements is not None:
        given = [o for o, v in (("--grid", request.grid), ("--host", request.device.host)) if v]
        if given:
            raise ArchcError(f"{', '.join(given)}: --measurements fits on timings already taken; leave it out")
        return fit_device(request.source, request.measurements, request.out)
    t = request.timing
    check_threads(t.threads, request.device.host is not None)
    grid = parse_grid(list(request.grid)) if request.grid else None
    how = Probing(t, dict(request.source.variables), request.jobs)
    model = fit_spec(request.source.spec, grid, request.device.target(), request.out, how)
    return model.to_json()


def fit_device(source, measurements, out=None) -> dict:
    """A device latency model from end-to-end timings (`archc latency fit SPEC --measurements FILE.csv`): the
    model's JSON (its "fit" holds the cross-validated error) and "unsupported" (why the rows cannot support it;
    empty when they can). Written to `out` when given."""
    from archc.lang.library import resolve_spec
    from archc.measure.device_fit import fit_measurements

    model, unsupported = fit_measurements(str(resolve_spec(source.spec)), measurements, dict(source.variables))
    if out is not None:
        model.save(out)
    from archc.measure.device_fit import UNITS

    return {**model.to_json(), "unsupported": unsupported, "units": dict(UNITS)}


def devices() -> list:
    """The shipped device latency models (`archc devices`): name, file, what each was fitted on, its error."""
    from archc.measure.latency_model import load, shipped

    return [{"name": name, "file": str(path), **load(path).meta} for name, path in shipped().items()]


def recommend(rows: list) -> list:
    """What `archc benchmark` concludes from its rows: the fastest float32 runtime, and whether int8 pays here."""
    from archc.deploy.benchmark import recommend as conclude

    return conclude(rows)


def quantize_report(request: rq.QuantizeReport, hooks: Hooks = QUIET) -> dict:
    """fp32, fp16, dynamic and int8 of a trained model in ONNX Runtime and LiteRT (and int8 of its QAT
    weights), each scored on the val split and timed interleaved: {"rows": [...], ...} (archc.deploy.qreport);
    with `out`, also OUT/report.csv, report.json, masks/sheet.png and the models."""
    import tempfile

    from archc.deploy import qreport
    from archc.measure.profile import check_runs, check_threads

    r, t = request, request.timing
    check_threads(t.threads)
    check_runs(t.runs, t.warmup)
    if r.images < 1 or r.samples < 1:
        raise ArchcError(f"--images {r.images} / --samples {r.samples}: give 1 or more")
    c, modules = _report_models(r, hooks)
    plan = qreport.Plan(Path(r.data), r.images, r.samples, t.threads, t.warmup, t.runs, hooks.progress, c.quantize)
    reason = _litert_reason()
    if r.out is None:
        with tempfile.TemporaryDirectory(prefix="archc-qreport-") as tmp:
            return qreport.report(c, modules, Path(tmp), plan, reason)
    from archc.fs import atomic_dir
    from archc.train.folder import refuse_foreign

    refuse_foreign(r.out)
    with atomic_dir(r.out, flag="--out") as tmp:
        result = qreport.report(c, modules, tmp / "models", plan, reason)
        qreport.write(result, tmp)
        qreport.sheet(c, result, tmp / "models", plan, tmp / "masks")
    return result


def _report_models(r: rq.QuantizeReport, hooks: Hooks) -> tuple:
    """The compiled spec and {"ptq": module[, "qat": module]}, every pairing checked before any work."""
    from archc.app.values import Weights
    from archc.train.datasets import check_splits

    source, weights = from_run(r.source, Weights(r.weights))  # a training run: its spec.yaml and weights.pt
    if weights.file is None:
        raise ArchcError(f"{r.source.spec}: quantize-report needs --weights CKPT (e.g. RUN/weights.pt from "
                         f"archc train)")
    check_splits(r.data)  # calibration and scores: both before seconds of export
    c = compiled(source, hooks)
    if c.quantize is not None and c.quantize.mode != "int8":
        raise ArchcError(f"--pass {c.quantize.describe()}: quantize-report builds every mode itself; give "
                         f"quantize=int8 only to set how int8 quantizes (per_channel, reduce_range, act), or no pass")
    modules = {}
    for kind, flag, file in (("ptq", "--weights", weights.file), ("qat", "--qat", r.qat)):
        if file is None:
            continue
        if kind == "qat":
            _same_grid(Path(file) if Path(file).is_dir() else Path(file).parent, c.quantize)
        file = Path(file) / "weights.pt" if Path(file).is_dir() else Path(file)  # a run folder: its weights
        try:
            modules[kind] = paired(c, source, Weights(file), hooks).module
        except ArchcError as exc:
            raise ArchcError(f"{flag} {exc.message}") from None
    return c, modules


def _same_grid(run: Path, qpass) -> None:
    """Refuse a --qat run whose fake quantization followed another weight grid than this report's int8."""
    import json

    from archc.passes import parse_pass
    from archc.train.qat import Grid

    try:
        config = json.loads((run / "metrics.json").read_text())["config"]
        qat, recorded = config.get("qat"), config.get("quantize")
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return  # not a run's metrics: the weights are checked as any checkpoint is
    if not qat:
        return
    trained = Grid.of(parse_pass(recorded) if recorded else None)
    if trained != Grid.of(qpass):
        said = f"--pass {recorded}" if recorded else "no quantize pass"
        raise ArchcError(f"--qat {run}: trained for another int8 weight grid ({said}: {trained}); give the "
                         f"report the same --pass, so that PTQ and QAT are compared under one setting")


def _litert_reason() -> str | None:
    """None when the litert extra is installed, else the one line its rows show."""
    from archc.litert import require

    try:
        require("litert_torch", "ai_edge_litert", "ai_edge_quantizer", what="LiteRT")
    except ArchcError as exc:
        return exc.message
    return None
