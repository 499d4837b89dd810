"""Pareto frontiers of sweep results: any two columns, optionally joined with a
quality column (e.g. measured IoU) from a CSV keyed by configuration."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from archc.errors import ArchcError
from archc.sweep.results import lower_is_better

SHORT = {"width": "a", "expand": "t", "repeat": "r", "drop": "drop", "input": "in", "groups": "g"}
# column -> (axis label with its unit, factor from the column's value to the plotted one)
AXES = {"params": ("parameters (millions)", 1e-6), "macs": ("MACs (millions)", 1e-6),
        "activation_bytes": ("activation memory, forward + backward (MB)", 1e-6),
        "median_ms": ("latency, median (ms)", 1.0), "p90_ms": ("latency, 90th percentile (ms)", 1.0),
        "mean_ms": ("latency, mean (ms)", 1.0), "predicted_ms": ("predicted latency (ms)", 1.0),
        "fps": ("throughput (frames/s)", 1.0), "miou": ("mIoU (%)", 100.0), "iou": ("IoU (%)", 100.0)}
TIMED = ("median_ms", "p90_ms", "mean_ms", "fps")
DOMINATED_LABELS = 40  # label the dominated points too when there are at most this many


MAX_BYTES = 64 * 1024 * 1024  # results of a million configurations fit; /dev/zero does not


def load_rows(path: Path) -> list[dict]:
    """The rows of a sweep's results.csv or results.json: a list of mappings of column -> value."""
    from archc.lang.yamlio import read_bytes

    path = Path(path)
    raw = read_bytes(path, MAX_BYTES, "results file", hint="run `archc sweep ... --out DIR` first")
    try:
        text = raw.decode("utf-8")
        rows = json.loads(text) if path.suffix == ".json" else list(csv.DictReader(io.StringIO(text, newline="")))
    except (ValueError, csv.Error) as exc:
        raise ArchcError(f"{path}: cannot read results: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ArchcError(f"{path}: expected a list of rows (mappings of column -> value), as "
                         f"`archc sweep --out` writes, got {type(rows).__name__}"
                         + (" of non-mappings" if isinstance(rows, list) else ""))
    return rows


def join(rows: list[dict], quality: Path, key: str = "config") -> list[dict]:
    """Add the columns of `quality` (a CSV with a `config` column) to the rows it names."""
    table = load_rows(quality)
    if not table or any(not isinstance(r.get(key), str) for r in table):
        raise ArchcError(f"{quality}: needs a '{key}' column naming configurations as in results.csv "
                         f"(e.g. 'width=0.5 drop=ppm'), a string in every row")
    extra = {r[key].strip(): r for r in table}
    return [{**row, **{k: v for k, v in extra.get(str(row.get(key, "")), {}).items() if k != key}} for row in rows]


def _num(row: dict, col: str) -> float | None:
    try:
        return float(row[col])
    except (KeyError, TypeError, ValueError):
        return None


def points(rows: list[dict], x: str, y: str) -> list[tuple[float, float, dict]]:
    if rows and (x not in rows[0] or y not in rows[0]):
        cols = ", ".join(k for k in rows[0] if _num(rows[0], k) is not None)
        raise ArchcError(f"no column '{x if x not in rows[0] else y}' in the results (numeric columns: {cols})")
    pts = [(_num(r, x), _num(r, y), r) for r in rows if r.get("status", "ok") == "ok"]
    pts = [p for p in pts if p[0] is not None and p[1] is not None]
    if not pts:
        raise ArchcError(f"no configuration has both '{x}' and '{y}' (profile the sweep for latency, or join a "
                         f"quality CSV with --quality)")
    return pts


def frontier(pts, x_low: bool = True, y_low: bool = False) -> list:
    """The points no other point beats on both axes, in x order."""
    sx, sy = (1 if x_low else -1), (1 if y_low else -1)
    best, out = None, []
    for p in sorted(pts, key=lambda p: (sx * p[0], sy * p[1])):
        if best is None or sy * p[1] < best:
            out.append(p)
            best = sy * p[1]
    return out


def label(row: dict) -> str:
    """'w=0.5 t=6 in=96'; a search's per-stage choices (width@ltd, width@gfe, ...) as one entry per
    pass, its values in column order: 'w=0.75/0.5/0.75'."""
    values: dict = {}
    for k, v in row.items():
        base = k.split("@")[0]
        if base in SHORT and v not in ("", None, "none"):
            values.setdefault(base, []).append(str(v).split("x")[-1] if base == "input" else str(v))
    return " ".join(f"{SHORT[k]}={'/'.join(vs)}" for k, vs in values.items()) or str(row.get("config", ""))


def axis_label(col: str, low: bool) -> str:
    """'latency, median (ms): lower is better'; a column archc does not know keeps its name."""
    return f"{AXES.get(col, (col, 1.0))[0]}: {'lower' if low else 'higher'} is better"


def _device(rows: list[dict]) -> dict:
    for row in rows:
        d = row.get("device")
        if isinstance(d, str) and d.startswith("{"):
            try:
                d = json.loads(d)
            except ValueError:
                d = None
        if isinstance(d, dict) and d:
            return d
    return {}


def context(rows: list[dict], x: str, y: str, epochs=None) -> str:
    """Where the numbers come from: the device and runtime of timed columns, the training of mIoU."""
    parts = []
    if {x, y} & set(TIMED):
        d = _device(rows)
        where = d.get("host") or d.get("cpu")
        ort = f" {d['onnxruntime']}" if d.get("onnxruntime") else ""
        threads = f", {d['threads']} thread{'s' if d['threads'] != 1 else ''}" if d.get("threads") else ""
        parts.append(f"timed on {where} with ONNX Runtime{ort}{threads}" if where else
                     "timed with ONNX Runtime (the results do not record the device)")
    if "predicted_ms" in (x, y):
        parts.append("latency predicted by a fitted latency model")
    if {x, y} & {"miou", "iou"}:
        epochs = epochs or next((r.get("epochs") for r in rows if r.get("epochs") not in (None, "")), None)
        parts.append(f"mIoU after {epochs} epochs of training" if epochs else "mIoU as measured")
    return "; ".join(parts)


@dataclass(frozen=True)
class Labels:
    """What a plot says beside its points: a title ('' : one made from the axes), each axis' direction
    (None: the direction table's, results.lower_is_better) and the epochs of training behind its mIoU."""

    title: str = ""
    x_low: bool | None = None
    y_low: bool | None = None
    epochs: int | None = None


@dataclass(frozen=True)
class _Ink:
    size: float
    color: str
    force: bool = False  # placed even where every offset overlaps


FRONT_INK, OTHER_INK = _Ink(8.5, "black", force=True), _Ink(6.5, "#707070")


def plot(rows: list[dict], x: str, y: str, outs: list[tuple], labels: Labels = Labels()) -> list:
    """Draw all configurations and highlight the frontier; write each (path, format) of `outs`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_low = lower_is_better(x) if labels.x_low is None else labels.x_low
    y_low = lower_is_better(y) if labels.y_low is None else labels.y_low
    pts = points(rows, x, y)
    front = frontier(pts, x_low, y_low)
    plt.rcParams["svg.fonttype"] = "none"  # labels stay text in SVGs: searchable, and smaller files
    fig, ax = plt.subplots(figsize=(10, 6.5), dpi=120)
    fx, fy = AXES.get(x, (x, 1.0))[1], AXES.get(y, (y, 1.0))[1]
    for values, scale in (([p[0] for p in pts], ax.set_xscale), ([p[1] for p in pts], ax.set_yscale)):
        if min(values) > 0 and max(values) / min(values) > 10:  # spans an order of magnitude: log
            scale("log")
    _points(ax, pts, front, fx, fy)
    ax.set_xlabel(axis_label(x, x_low), fontsize=11)
    ax.set_ylabel(axis_label(y, y_low), fontsize=11)
    head = labels.title or (f"{AXES.get(y, (y,))[0].split(' (')[0]} vs {AXES.get(x, (x,))[0].split(' (')[0]}: "
                     f"{len(front)} of {len(pts)} configurations on the Pareto frontier")
    about = context(rows, x, y, labels.epochs)
    ax.set_title(head + (f"\n{about}" if about else ""), fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    fig.tight_layout()
    for out, fmt in outs:
        fig.savefig(out, format=fmt, metadata={"Software": "archc"} if fmt == "png" else {"Date": None})
    plt.close(fig)
    return front


def _points(ax, pts, front, fx: float, fy: float) -> None:
    """All configurations in grey, the frontier in red; frontier labels first, on a white ground, then
    dominated ones, small, wherever a label still fits without covering another."""
    ax.scatter([p[0] * fx for p in pts], [p[1] * fy for p in pts], s=16, c="#a0a0a0", label="configurations")
    ax.plot([p[0] * fx for p in front], [p[1] * fy for p in front], "-o", c="#d62728", ms=6, lw=1.5,
            label="Pareto frontier")
    ax.set_xlim(ax.get_xlim())  # fixed now, so that label positions in pixels stay true
    ax.set_ylim(ax.get_ylim())
    placed: list = []
    on_front = {id(p[2]) for p in front}
    for px, py, row in front:
        _place(ax, placed, (px * fx, py * fy), label(row), FRONT_INK)
    if len(pts) <= DOMINATED_LABELS:
        for px, py, row in pts:
            if id(row) not in on_front:
                _place(ax, placed, (px * fx, py * fy), label(row), OTHER_INK)


OFFSETS = ((7, 4, "left"), (7, -12, "left"), (-7, 4, "right"), (-7, -12, "right"), (0, 10, "center"),
           (0, -18, "center"))  # points from the marker: right, below right, left, below left, above, below


def _place(ax, placed: list, xy, text: str, ink: _Ink) -> None:
    """Annotate at the first offset whose box (estimated from the text's length) overlaps no placed
    label; if none is free, the first (ink.force) or none."""
    size, color, force = ink.size, ink.color, ink.force
    cx, cy = ax.transData.transform(xy)
    scale = ax.figure.dpi / 72
    w, h = 0.6 * size * len(text) * scale, 1.2 * size * scale
    for i, (dx, dy, ha) in enumerate(OFFSETS if not force else OFFSETS + (OFFSETS[0],)):
        x0 = cx + dx * scale - {"left": 0, "right": w, "center": w / 2}[ha]
        box = (x0, cy + dy * scale, x0 + w, cy + dy * scale + h)
        inside = ax.bbox.x0 <= box[0] and box[2] <= ax.bbox.x1 and ax.bbox.y0 <= box[1] and box[3] <= ax.bbox.y1
        free = inside and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed)
        if free or (force and i == len(OFFSETS)):
            placed.append(box)
            ax.annotate(text, xy, textcoords="offset points", xytext=(dx, dy), ha=ha, fontsize=size, c=color,
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75})
            return
