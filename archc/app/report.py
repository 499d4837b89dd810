"""`archc report`: one self-contained HTML page per spec for a class -- the spec's tables with each
row's costs and primitives, the graph, the knobs (a sweep, precomputed), a comparison with another
spec and, with weights and data, the mIoU.

    archc report fastscnn -o fastscnn.html
    archc.api.report(ReportRequest("fastscnn", Path("fastscnn.html")))
"""
from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from pathlib import Path

from archc.app.report_grid import grid_of, sweep_grid
from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.lang.emit import emit
from archc.lang.library import resolve_spec
from archc.reports import html
from archc.reports.diff import diff, side
from archc.reports.report_data import network
from archc.version import VERSION

MASK_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_MASKS, MAX_MASK_BYTES = 8, 512 * 1024


@dataclass(frozen=True)
class ReportRequest:
    spec: str
    out: Path
    passes: tuple = ()
    variables: dict = field(default_factory=dict)
    grid: tuple = ()  # "NAME=V1,V2" items; empty: the spec's default knobs (report_grid.default_grid)
    latency_model: Path | None = None  # per-layer latency predicted by a fitted model ...
    profile: bool = False  # ... or measured here per layer (ONNX Runtime's profiler)
    diff: str | None = None  # another spec, shown beside this one
    weights: Path | None = None  # with data: the mIoU on its val split
    data: Path | None = None
    masks: Path | None = None  # a folder of predicted-mask pictures (as `archc predict` writes) to show


@dataclass(frozen=True)
class ReportResult:
    path: Path
    bytes: int
    seconds: float
    configurations: int
    data: dict  # what the page's JSON block holds


def _check(request: ReportRequest) -> None:
    if request.latency_model is not None and request.profile:
        raise ArchcError("give --latency-model M or --profile, not both (predicted or measured latency)")
    if (request.weights is None) != (request.data is None):
        raise ArchcError("--weights and --data go together: the mIoU of the checkpoint on DIR's val split")


def _latency(compiled, request: ReportRequest):
    """(layer name -> ms, what the page says about it, the latency model or None)."""
    if request.latency_model is not None:
        from archc.measure.latency_model import load

        model = load(request.latency_model)
        about = {"source": "model", "file": str(request.latency_model), "device": model.meta.get("device"),
                 "threads": model.meta.get("threads"), "offset_ms": round(model.offset, 5),
                 "predicted_ms": round(model.predict(compiled.graph), 5)}
        return model.layer_ms(compiled.graph), about, model
    if request.profile:
        from archc.deploy.artifacts import BuildOptions, profile_target
        from archc.measure.targets import Target

        results, _ = profile_target(compiled.spec.name, compiled, "ort", BuildOptions(target=Target(per_layer=True)))
        about = {"source": "profile", "runtime": "onnxruntime", "median_ms": results[0].get("median_ms"),
                 "device": results[0].get("device")}
        return {l["name"]: l["ms"] for l in results[0]["layers"]}, about, None
    return None, {"source": None}, None


def _quality(compiled, request: ReportRequest) -> dict | None:
    if request.weights is None:
        return None
    from archc.train.evaluate import evaluate_checkpoint, with_weights

    scores = evaluate_checkpoint(compiled, with_weights(compiled, request.weights)[0], request.data)
    return {"miou": scores.get("miou"), "pixel_accuracy": scores.get("pixel_accuracy"),
            "images": scores.get("images"), "weights": str(request.weights), "data": str(request.data)}


def _masks(folder: Path | None) -> list:
    """Up to 8 pictures of FOLDER (PNG or JPEG, each under 512 KB) as data: URLs."""
    if folder is None:
        return []
    if not Path(folder).is_dir():
        raise ArchcError(f"--masks {folder}: not a folder; give the folder of pictures `archc predict` wrote")
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in MASK_SUFFIXES and p.is_file())
    out = []
    for p in files[:MAX_MASKS]:
        raw = p.read_bytes()
        if len(raw) <= MAX_MASK_BYTES:
            mime = "png" if p.suffix.lower() == ".png" else "jpeg"
            out.append({"name": p.name, "src": f"data:image/{mime};base64,{base64.b64encode(raw).decode()}"})
    return out


def _swept_file(path: Path, compiled, passes, tmp: Path) -> Path:
    """What the knobs turn: the spec file itself, or (after --pass) the transformed spec written out."""
    if not passes:
        return path
    out = tmp / f"{compiled.spec.name}.yaml"
    out.write_text(emit(compiled.spec))
    return out


def _other(name: str | None, variables: dict) -> tuple:
    if name is None:
        return None, None
    path = resolve_spec(name)
    compiled = compile_spec(path, (), None, dict(variables))
    return compiled, network(compiled, str(name), ())


def gather(request: ReportRequest) -> dict:
    """The page's data (also its JSON block)."""
    from archc.fs import temp_dir

    _check(request)
    path = resolve_spec(request.spec)
    compiled = compile_spec(path, request.passes, None, dict(request.variables))
    ms, about, model = _latency(compiled, request)
    data = {"format": "archc-report/1", "archc": VERSION, **network(compiled, str(request.spec), request.passes, ms),
            "latency": about}
    grid = grid_of(request.grid, compiled.spec)
    with temp_dir("archc-report") as tmp:
        data["grid"] = sweep_grid(_swept_file(path, compiled, request.passes, Path(tmp)), grid,
                                  request.variables, model)
    other, data["other"] = _other(request.diff, request.variables)
    if other is not None:
        data["diff"] = diff(compiled.report, other.report, side(compiled.report, path, request.passes),
                            side(other.report, data["other"]["file"], ()))
    data["quality"], data["masks"] = _quality(compiled, request), _masks(request.masks)
    return data


def report(request: ReportRequest) -> ReportResult:
    """Gather the data, draw the page, write it atomically to request.out."""
    from archc.fs import atomic_file

    start = time.perf_counter()
    _refuse_foreign(Path(request.out))  # before any work
    data = gather(request)
    path = resolve_spec(request.spec)
    graph = compile_spec(path, request.passes, None, dict(request.variables)).graph
    other = compile_spec(resolve_spec(request.diff), (), None, dict(request.variables)).graph if request.diff else None
    page = html.page(data, graph, other)
    with atomic_file(request.out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return ReportResult(Path(request.out), len(page.encode()), time.perf_counter() - start,
                        len(data["grid"]["configs"]), data)


def _refuse_foreign(out: Path) -> None:
    """A page archc wrote before (it carries archc's data block) is replaced; any other file is the user's."""
    if out.is_dir():
        raise ArchcError(f"-o {out}: is a folder; give the page's file name, e.g. -o {out / 'report.html'}")
    if out.exists():
        with open(out, "rb") as f:
            head = f.read(1 << 20)
        if b'id="archc-data"' not in head:
            raise ArchcError(f"-o {out}: a file archc did not write is there; choose another name or remove it")


write_report = report  # archc.app.write_report: `archc.app.report` is this module's own name
