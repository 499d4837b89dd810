"""The knobs of `archc report`: a grid of pass settings (the spec's width, expand, repeat and input by
default), run by archc's sweep engine in this process, each valid configuration's per-row and
per-stage costs added so that the page can show any of them without computing anything."""
from __future__ import annotations

from math import prod

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.reports.report_data import row_costs
from archc.sweep.sweep import Sweep, check_grid, parse_grid, passes_of

WIDTHS = ("1", "0.75", "0.5", "0.25")
EXPANDS = (4, 2)  # the thesis's t knob below the spec's own (6)
REPEATS = (2, 1)  # the thesis's r knob below the spec's own (3)
MAX_CONFIGS = 4096  # what one page carries (about 1 KB each for Fast-SCNN)
STRIDE = 32  # input sizes offered: multiples of the usual total stride


def _number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def default_grid(spec) -> dict:
    """Knob -> values for a spec: width always; expand where a row has `t`; repeat where a row
    repeats; the input at 1, 3/4 and 1/2 of its size (multiples of 32). `none`: the spec as written."""
    rows = [r for st in spec.stages for r in st.rows]
    grid = {"width": list(WIDTHS)}
    ts = [t for t in (_number(r.fields.get("t")) for r in rows) if t is not None]
    if ts:
        grid["expand"] = ["none"] + [str(t) for t in EXPANDS if t < max(ts)]
    n = max((r.n for r in rows), default=1)
    if n > 1:
        grid["repeat"] = ["none"] + [str(r) for r in REPEATS if r < n]
    c, h, w = spec.input
    sizes = [(h, w)] + [(max(STRIDE, int(h * f) // STRIDE * STRIDE), max(STRIDE, int(w * f) // STRIDE * STRIDE))
                        for f in (0.75, 0.5)]
    grid["input"] = list(dict.fromkeys(f"{c}x{a}x{b}" for a, b in sizes))
    return {k: v for k, v in grid.items() if len(v) > 1}


def grid_of(items, spec) -> dict:
    """--grid NAME=V,... items, or the default grid; checked before any work."""
    grid = parse_grid(items) if items else default_grid(spec)
    check_grid(grid)
    size = prod(len(v) for v in grid.values())
    if size > MAX_CONFIGS:
        raise ArchcError(f"the report's grid has {size:,} configurations, more than {MAX_CONFIGS:,} that a page "
                         f"carries; give fewer --grid values")
    return grid


def _entry(result, spec_file, variables, model) -> dict:
    entry = {"knobs": result.knobs, "config": result.config, "status": result.status, "reason": result.reason,
             "params": result.params, "macs": result.macs, "activation_bytes": result.activation_bytes,
             "ms": result.predicted_ms}
    if result.status == "ok":
        graph = compile_spec(spec_file, passes_of(result.knobs), None, variables).graph
        entry["rows"], entry["stages"] = row_costs(graph, None if model is None else model.layer_ms(graph))
    return entry


def sweep_grid(spec_file, grid: dict, variables: dict, model=None) -> dict:
    """The grid's page data: knobs with their values, and one entry per configuration in product order."""
    sw = Sweep(str(spec_file), grid, variables=dict(variables), latency_model=None if model is None
               else model.to_json())
    results = sw.run()
    return {"knobs": grid, "configs": [_entry(r, spec_file, variables, model) for r in results]}
