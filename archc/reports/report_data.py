"""The data of `archc report`'s page: one compiled network as its spec's tables (stages, rows in the
spec's own columns) with each row's params, MACs, activation bytes and latency, opened into its
primitive layers under the names PyTorch, ONNX and the per-layer profiles use. Plain JSON-ready
values; archc.reports.html draws them, archc.app.report gathers them (sweeps, latency, mIoU)."""
from __future__ import annotations

from archc.compile import Compiled
from archc.ir.analysis import analyze
from archc.reports.explain import explain
from archc.reports.labels import describe, kind

COSTS = ("params", "macs", "activation_bytes")


def _value(v):
    """A spec field as JSON: numbers, strings and lists as they are, anything else as text."""
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    return str(v)


def _cells(r, columns) -> tuple[list, str]:
    cells = [r.op if c == "op" else r.n if c == "n" else _value(r.fields.get(c, "-")) for c in columns]
    other = ", ".join(f"{k}={_value(v)}" for k, v in r.fields.items() if k not in columns)
    return cells, other


def _layers(compiled: Compiled, names, costs: dict, ms: dict | None) -> list:
    graph = compiled.graph
    out = []
    for name in names:
        node, l = graph[name], costs[name]
        ins = [graph.shape(s) for s in node.inputs]
        out.append({"name": name, "op": node.op, "kind": kind(node.op, node.attrs, ins),
                    "label": describe(node.op, node.attrs, ins, node.shape), "out": list(node.shape),
                    "params": l.params, "macs": l.macs, "activation_bytes": l.activation_bytes,
                    "ms": None if ms is None else round(ms.get(name, 0.0), 5)})
    return out


def _row(compiled, r, columns, costs, ms) -> dict:
    cells, other = _cells(r, columns)
    layers = _layers(compiled, r.layers, costs, ms)
    return {"id": f"{r.stage}.{r.key}", "stage": r.stage, "key": r.key, "op": r.op, "n": r.n, "cells": cells,
            "other": other, "in": [list(s) for s in r.inputs], "out": list(r.out),
            **{k: sum(l[k] for l in layers) for k in COSTS},
            "ms": None if ms is None else round(sum(l["ms"] for l in layers), 5), "layers": layers}


def network(compiled: Compiled, spec_file: str, passes, ms: dict | None = None) -> dict:
    """A network's page data. `ms`: layer name -> milliseconds (predicted or profiled), or None."""
    report = compiled.report
    costs = {l.name: l for l in report.layers}
    rows, stages = [], []
    infos = explain(compiled)
    for st in compiled.spec.stages:
        columns = list(st.columns or ("op", "n"))
        mine = [_row(compiled, r, columns, costs, ms) for r in infos if r.stage == st.id]
        rows += mine
        stages.append({"id": st.id, "doc": st.doc or "", "columns": columns, "rows": len(mine),
                       **{k: sum(r[k] for r in mine) for k in COSTS},
                       "ms": None if ms is None else round(sum(r["ms"] for r in mine), 5)})
    return {"name": report.name, "file": str(spec_file), "passes": list(map(str, passes)),
            "doc": compiled.spec.doc or "",
            "input": list(report.input), "outputs": [list(s) for s in report.outputs],
            "totals": {**{k: getattr(report, k) for k in COSTS},
                       "ms": None if ms is None else round(sum(ms.values()), 5)},
            "stages": stages, "rows": rows}


def row_costs(graph, ms: dict | None = None) -> tuple[dict, dict]:
    """(row id -> [params, MACs, activation bytes(, ms)], stage -> the same) of one configuration:
    what the page shows when a knob changes."""
    rows: dict = {}
    stages: dict = {}
    width = 3 if ms is None else 4
    for l in analyze(graph).layers:
        node = graph[l.name]
        if not node.stage:
            continue
        add = (l.params, l.macs, l.activation_bytes, *(() if ms is None else (ms.get(l.name, 0.0),)))
        for table, key in ((rows, f"{node.stage}.{node.row}"), (stages, node.stage)):
            acc = table.setdefault(key, [0] * width)
            for i, v in enumerate(add):
                acc[i] += v
    if ms is not None:
        for acc in (*rows.values(), *stages.values()):
            acc[3] = round(acc[3], 5)
    return rows, stages
