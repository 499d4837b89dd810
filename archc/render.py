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


err_console = Console(stderr=True)


def notes(lines) -> None:
    """What passes reported, on stderr so that --json stays one object on stdout."""
    for line in lines:
        err_console.print(f"note: {line}", highlight=False, soft_wrap=True)


def _delta(n: int, base: int) -> str:
    pct = f" ({n / base:+.1%})" if base else ""
    return f"{n:+,}{pct}" if n else "0"


def diff(d: dict) -> None:
    """Both sides per stage and in total, with B - A: one row per stage and figure."""
    a, b = d["a"], d["b"]
    label = lambda s: f"{s['spec']}" + "".join(f" --pass {p}" for p in s["passes"])  # noqa: E731
    t = Table(title=f"A: {label(a)}\nB: {label(b)}")
    for col in ("stage", "figure", "A", "B", "B - A"):
        t.add_column(col, justify="left" if col in ("stage", "figure") else "right")
    rows = d["stages"] + [{"stage": "total", "a": a, "b": b, "delta": d["delta"]}]
    for s in rows:
        for k, (key, head) in enumerate((("params", "params"), ("macs", "MACs"), ("activation_bytes", "act. bytes"))):
            va, vb = (s["a"] or {}).get(key), (s["b"] or {}).get(key)
            t.add_row(s["stage"] if k == 0 else "", head, num(va) if va is not None else "-",
                      num(vb) if vb is not None else "-", _delta(s["delta"][key], va or 0), end_section=k == 2)
    console.print(t)
    console.print(f"A: input {shape(a['input'])} -> {', '.join(shape(o) for o in a['outputs'])}   "
                  f"B: input {shape(b['input'])} -> {', '.join(shape(o) for o in b['outputs'])}", highlight=False)


def passes(entries) -> None:
    """The pass registry: name and arguments, what it does and how to write it."""
    t = Table(title="passes (--pass NAME=VALUE[,KEY=VALUE...] or a recipe file)", show_lines=True)
    t.add_column("name", no_wrap=True)
    t.add_column("arguments")
    t.add_column("what it does", overflow="fold", ratio=1)
    for name, args, doc, usage in entries:
        t.add_row(name, args.replace(", ", "\n"), f"{doc}\n[dim]{usage}[/dim]")
    console.print(t)
