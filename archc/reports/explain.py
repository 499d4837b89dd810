"""`archc explain`: a spec's tables as a paper prints them -- each row with its
input and output shapes, repeats, params and MACs -- and each block expanded into
primitives with the MAC formula behind every number (torchinfo's counting)."""
from __future__ import annotations

from dataclasses import dataclass

from archc.ir.analysis import analyze, layer_cost
from archc.compile import Compiled
from archc.ops import OPS


@dataclass(frozen=True)
class Primitive:
    name: str
    op: str
    out: tuple
    params: int
    macs: int
    formula: str  # how the MACs come about


@dataclass(frozen=True)
class RowInfo:
    stage: str
    key: str
    op: str
    fields: dict
    n: int
    inputs: tuple
    out: tuple
    params: int
    macs: int
    primitives: tuple  # of the first block; the other repeats follow the same recipe
    layers: tuple = ()  # every layer of the row (all repeats), for per-layer latency


def formula(op: str, attrs: dict, ins: list, out: tuple) -> str:
    """The arithmetic behind a primitive's MACs, as torchinfo counts them (the op's own `formula`)."""
    weights, macs, _ = layer_cost(op, attrs, ins, out)
    return OPS[op].formula(attrs, ins, out, macs) if weights else "no parameters: 0"


def explain(compiled: Compiled) -> list[RowInfo]:
    graph, spec = compiled.graph, compiled.spec
    layers = {l.name: l for l in analyze(graph).layers}
    rows = []
    for st in spec.stages:
        for i, row in enumerate(st.rows):
            key = row.id or str(i)
            nodes = [n for n in graph if n.stage == st.id and n.row == key]
            first = [n for n in nodes if n.repeat == 0]
            outside = [s for n in first for s in n.inputs if graph[s].stage != st.id or graph[s].row != key]
            prims = tuple(Primitive(n.name, n.op, n.shape, layers[n.name].params, layers[n.name].macs,
                                    formula(n.op, n.attrs, [graph.shape(s) for s in n.inputs], n.shape))
                          for n in first)
            rows.append(RowInfo(st.id, key, row.op, dict(row.fields), row.n,
                                tuple(graph.shape(s) for s in dict.fromkeys(outside)), nodes[-1].shape,
                                sum(layers[n.name].params for n in nodes), sum(layers[n.name].macs for n in nodes),
                                prims, tuple(n.name for n in nodes)))
    return rows


def _shape(s) -> str:
    return "x".join(map(str, s))


def _cell(r: RowInfo, col: str):
    return r.op if col == "op" else r.n if col == "n" else r.fields.get(col, "-")


def _stage_table(stage, columns, rows, latency: dict | None = None) -> list[str]:
    """The stage's table under its own header (e.g. op, t, c, n, s), framed by shapes and costs
    (and, with `latency` = layer name -> ms, the row's measured ms)."""
    columns = list(columns or ("op", "n"))
    head = ["row", "input", *columns, "other fields", "output", "params", "MACs", *(["ms"] if latency else [])]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        extra = ", ".join(f"{k}={v}" for k, v in r.fields.items() if k not in columns)
        cells = [r.key, ", ".join(_shape(s) for s in r.inputs), *(_cell(r, c) for c in columns), extra,
                 _shape(r.out), f"{r.params:,}", f"{r.macs:,}",
                 *([f"{sum(latency.get(n, 0.0) for n in r.layers):.3f}"] if latency else [])]
        out.append("| " + " | ".join(map(str, cells)) + " |")
    return out


def _ms(latency: dict | None, name: str) -> str:
    return f" {latency.get(name, 0.0):.3f} |" if latency else ""


def markdown(compiled: Compiled, latency: dict | None = None) -> str:
    """The explanation as Markdown: one table per stage, then each row's primitives; with
    `latency` (layer name -> ms, from `profile --per-layer`) an ms column in both."""
    rows, report = explain(compiled), compiled.report
    out = [f"# {compiled.spec.name}", "", f"input {_shape(compiled.spec.input)}; {report.params:,} params, "
           f"{report.macs:,} MACs, {report.activation_bytes:,} activation bytes (torchinfo's counting)", ""]
    for st in compiled.spec.stages:
        mine = [r for r in rows if r.stage == st.id]
        out += [f"## {st.id}" + (f": {st.doc}" if st.doc else ""), "",
                *_stage_table(st.id, st.columns, mine, latency), ""]
        for r in (r for r in mine if len(r.primitives) > 1 or r.n > 1):
            out += [f"{st.id}.{r.key}.0 ({r.op}; " + (f"{r.n} repeats, the first shown" if r.n > 1 else "one block")
                    + "):", "", "| primitive | op | output | params | MACs = |" + (" ms |" if latency else ""),
                    "|---|---|---|---|---|" + ("---|" if latency else "")]
            out += [f"| {p.name} | {p.op} | {_shape(p.out)} | {p.params:,} | {p.formula} |" + _ms(latency, p.name)
                    for p in r.primitives]
            out.append("")
    return "\n".join(out)
