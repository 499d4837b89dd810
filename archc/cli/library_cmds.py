"""`archc specs`: the bundled spec library, which any SPEC argument may name; and the hidden
`archc spec-reference`, which regenerates docs/spec.md's op and block reference."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

import archc.app as calls
from archc.cli.app import JsonOpt, app, boundary


@app.command("specs")
@boundary
def specs_cmd(json_: JsonOpt = False):
    """List the bundled specs with params, MACs, input and source; `archc summary NAME` takes the name."""
    from archc.cli import render_library

    entries = calls.specs()
    if json_:
        print(json.dumps(entries))
        return
    render_library.specs(entries)


@app.command("spec-reference", hidden=True)
@boundary
def spec_reference(doc: Annotated[Path, typer.Argument(help="the Markdown file with the markers")]
                   = Path("docs/spec.md"),
                   check: Annotated[bool, typer.Option("--check",
                                                       help="fail (exit 2) when stale, write nothing")] = False):
    """Regenerate the op and block reference of docs/spec.md from the registries."""
    from archc.cli import render

    changed = calls.spec_reference(doc, check)
    render.message(f"{doc}: {'updated' if changed else 'up to date'}")
