"""Everything the CLI shows a person: rich tables. The only module that prints."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .analysis import Report

console = Console()


def shape(s) -> str:
    return "x".join(map(str, s))


def num(n: int) -> str:
    return f"{n:,}"


def summary(report: Report, layers: bool = True) -> None:
    if layers:
        t = Table(title=f"{report.name}  input {shape(report.input)}", show_lines=False)
        for col, just in (("layer", "left"), ("op", "left"), ("in", "right"), ("out", "right"),
                          ("params", "right"), ("MACs", "right")):
            t.add_column(col, justify=just)
        for l in report.layers:
            if l.op in ("act", "dropout", "identity") and not l.params:
                continue
            ins = ", ".join(shape(s) for s in l.inputs)
            p = num(l.params) if not l.share else f"(= {l.share})"
            t.add_row(l.name, l.op, ins, shape(l.out), p, num(l.macs))
        console.print(t)
    totals(report)


def totals(report: Report) -> None:
    t = Table(show_header=True, title="per stage" if report.layers else None)
    for col in ("stage", "params", "MACs", "activation bytes"):
        t.add_column(col, justify="left" if col == "stage" else "right")
    for name, s in report.stages().items():
        t.add_row(name, num(s["params"]), num(s["macs"]), num(s["activation_bytes"]))
    t.add_row("[b]total", f"[b]{num(report.params)}", f"[b]{num(report.macs)}", f"[b]{num(report.activation_bytes)}")
    console.print(t)
    console.print(f"outputs: {', '.join(shape(s) for s in report.outputs)}   "
                  f"params {report.params:,}   MACs {report.macs / 1e6:,.2f} M   "
                  f"fwd/bwd pass {report.activation_bytes / 1e6:,.2f} MB")


def ops(entries) -> None:
    t = Table(title="ops and blocks")
    for col in ("name", "kind", "parameters", "what it does"):
        t.add_column(col, overflow="fold")
    for name, kind, params, doc in entries:
        t.add_row(name, kind, params, doc)
    console.print(t)


def message(text: str) -> None:
    console.print(text, highlight=False)
