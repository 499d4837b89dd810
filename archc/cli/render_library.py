"""How `archc specs` shows the bundled library."""
from __future__ import annotations

from rich.table import Table

from archc.cli.render import _console, num, shape


def specs(entries: list[dict]) -> None:
    t = Table(title="bundled specs (give the name wherever a SPEC is taken: archc summary mobilenetv2)")
    for col, just in (("name", "left"), ("params", "right"), ("MACs", "right"), ("input", "right"),
                      ("source", "left")):
        t.add_column(col, justify=just, overflow="fold", no_wrap=col != "source")
    for e in entries:
        t.add_row(e["name"], num(e["params"]), num(e["macs"]), shape(e["input"]), e["source"])
    _console().print(t)
