"""Everything the CLI shows a person: rich tables. The only module that prints."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from .analysis import Report


def _console() -> Console:
    """A console on the current stdout; piped output (files, CI logs) is wide so names are never cut."""
    return Console(width=None if sys.stdout.isatty() else 200)


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
        _console().print(t)
    totals(report)


def totals(report: Report) -> None:
    t = Table(show_header=True, title="per stage" if report.layers else None)
    for col in ("stage", "params", "MACs", "activation bytes"):
        t.add_column(col, justify="left" if col == "stage" else "right")
    for name, s in report.stages().items():
        t.add_row(name, num(s["params"]), num(s["macs"]), num(s["activation_bytes"]))
    t.add_row("[b]total", f"[b]{num(report.params)}", f"[b]{num(report.macs)}", f"[b]{num(report.activation_bytes)}")
    _console().print(t)
    _console().print(f"outputs: {', '.join(shape(s) for s in report.outputs)}   "
                  f"params {report.params:,}   MACs {report.macs / 1e6:,.2f} M   "
                  f"fwd/bwd pass {report.activation_bytes / 1e6:,.2f} MB")


def ops(entries) -> None:
    t = Table(title="ops and blocks")
    for col in ("name", "kind", "parameters", "what it does"):
        t.add_column(col, overflow="fold")
    for name, kind, params, doc in entries:
        t.add_row(name, kind, params, doc)
    _console().print(t)


def message(text: str) -> None:
    _console().print(text, highlight=False)


def markdown(text: str, raw: bool = False) -> None:
    """Markdown as is (raw, for files) or rendered with tables for the terminal."""
    if raw:
        print(text)
        return
    from rich.markdown import Markdown

    _console().print(Markdown(text))
