"""Pareto frontiers of sweep results: any two columns, optionally joined with a
quality column (e.g. measured IoU) from a CSV keyed by configuration."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from archc.errors import ArchcError
from archc.sweep.results import lower_is_better

SHORT = {"width": "a", "expand": "t", "repeat": "r", "drop": "drop", "input": "in", "groups": "g"}


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


def plot(rows: list[dict], x: str, y: str, outs: list[tuple], title: str = "", x_low=None, y_low=None) -> list:
    """Draw all configurations and highlight the frontier; write each (path, format) of `outs`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_low = lower_is_better(x) if x_low is None else x_low
    y_low = lower_is_better(y) if y_low is None else y_low
    pts = points(rows, x, y)
    front = frontier(pts, x_low, y_low)
    plt.rcParams["svg.fonttype"] = "none"  # labels stay text in SVGs: searchable, and smaller files
    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, c="#b0b0b0", label="configurations")
    on_front = {id(p[2]) for p in front}
    for px, py, row in pts:  # dominated points are labelled too, small and grey, so each can be identified
        if id(row) not in on_front:
            ax.annotate(label(row), (px, py), textcoords="offset points", xytext=(4, 2), fontsize=4.5, c="#808080")
    ax.plot([p[0] for p in front], [p[1] for p in front], "-o", c="#d62728", ms=5, lw=1.2, label="Pareto frontier")
    for i, (px, py, row) in enumerate(front):  # alternate sides so that neighbours' labels do not overlap
        ax.annotate(label(row), (px, py), textcoords="offset points", xytext=(6, -9) if i % 2 else (-6, 5),
                    ha="left" if i % 2 else "right", fontsize=6.5)
    for values, scale in (([p[0] for p in pts], ax.set_xscale), ([p[1] for p in pts], ax.set_yscale)):
        if min(values) > 0 and max(values) / min(values) > 10:  # spans an order of magnitude: log
            scale("log")
    ax.set_xlabel(f"{x} ({'lower' if x_low else 'higher'} is better)")
    ax.set_ylabel(f"{y} ({'lower' if y_low else 'higher'} is better)")
    ax.set_title(title or f"{y} vs {x}: {len(front)} of {len(pts)} configurations on the frontier")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    for out, fmt in outs:
        fig.savefig(out, format=fmt, metadata={"Software": "archc"} if fmt == "png" else {"Date": None})
    plt.close(fig)
    return front
