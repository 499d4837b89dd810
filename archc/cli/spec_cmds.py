"""Commands that read a spec and print: validate, summary, ops, passes, graph, explain, diff."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from archc.cli.app import (InputOpt, JsonOpt, PassOpt, RecipeOpt, SpecArg, VarOpt, _compile,
                           app, boundary)
from archc.errors import ArchcError


@app.command()
@boundary
def validate(spec: SpecArg):
    """Check a spec: YAML, schema, ops, references and shapes."""
    c = _compile(spec, (), None, None)
    from archc.cli import render

    render.message(f"{spec}: ok ({len(c.graph) - 1} primitives, output "
                   f"{', '.join(render.shape(c.graph.shape(o)) for o in c.graph.outputs)})")


@app.command()
@boundary
def summary(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None, json_: JsonOpt = False,
            layers: Annotated[bool, typer.Option(help="list every layer")] = True, recipe: RecipeOpt = None):
    """Params, MACs and activation memory per layer and in total (torchinfo's semantics)."""
    report = _compile(spec, pass_, input, var, recipe).report
    if json_:
        print(json.dumps(report.to_json()))
        return
    from archc.cli import render

    render.summary(report, layers)


@app.command()
@boundary
def ops(name: Annotated[Optional[str], typer.Argument(help="one op or block, shown in full")] = None):
    """List the primitive ops and blocks a spec can use (`archc ops NAME`: one of them in full)."""
    from archc.cli import render
    from archc.errors import did_you_mean
    from archc.lang.blocks import stdlib
    from archc.ops import OPS

    if name is not None:
        found = OPS.get(name) or stdlib().get(name)
        if found is None:
            known = sorted(OPS) + sorted(stdlib())
            raise ArchcError(f"archc ops {name}: no op or block '{name}'{did_you_mean(name, known)}; "
                             f"`archc ops` lists them")
        render.op_detail(found, "primitive" if name in OPS else "block")
        return
    entries = [(o.name, "primitive", ", ".join(o.params), o.doc) for o in OPS.values()]
    entries += [(b.name, "block", ", ".join(b.params), b.doc) for b in stdlib().values()]
    render.ops(entries)


@app.command()
@boundary
def graph(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
          format: Annotated[str, typer.Option("--format", "-f", help="dot, mermaid, png or svg")] = "dot",
          output: Annotated[Optional[Path], typer.Option("-o", "--output", help="file (default: stdout for text)")] = None,
          expand: Annotated[bool, typer.Option(help="draw every primitive, blocks as clusters")] = False):
    """Draw the network: stages as clusters, blocks as nodes (or expanded), shapes on edges."""
    from archc.tools import draw
    from archc.cli import render
    from archc.fs import atomic_file

    if format not in ("dot", "mermaid", "png", "svg"):
        raise ArchcError(f"--format {format}: use dot, mermaid, png or svg")
    g = _compile(spec, pass_, input, var).graph
    text = draw.to_mermaid(g, expand) if format == "mermaid" else draw.to_dot(g, expand)
    if format in ("png", "svg"):
        target = output or Path(f"{g.name}.{format}")
        with atomic_file(target) as tmp:
            draw.render(text, format, tmp)
        render.message(f"wrote {target}")
    elif output:
        with atomic_file(output) as tmp:
            tmp.write_text(text)
    else:
        print(text, end="")


@app.command()
@boundary
def explain(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
            markdown: Annotated[bool, typer.Option("--markdown", help="print Markdown source")] = False):
    """The spec's tables as a paper prints them, each block expanded with its MAC formulas."""
    from archc.cli import render
    from archc.tools.explain import markdown as explain_md

    render.markdown(explain_md(_compile(spec, pass_, input, var)), raw=markdown)


@app.command("passes")
@boundary
def passes_cmd():
    """List the passes (--pass NAME=VALUE, recipe files) with their arguments."""
    from archc.cli import render
    from archc.passes import catalog

    render.passes(catalog())


@app.command("diff")
@boundary
def diff_cmd(spec_a: SpecArg, spec_b: Annotated[Path, typer.Argument(help="the spec to compare with", show_default=False)],
             pass_a: Annotated[Optional[List[str]], typer.Option("--pass-a", help="a pass on side A, repeatable")] = None,
             pass_b: Annotated[Optional[List[str]], typer.Option("--pass-b", help="a pass on side B, repeatable")] = None,
             var: VarOpt = None, json_: JsonOpt = False):
    """Compare two specs (or one spec with and without passes): totals and per stage, with B - A."""
    from archc.cli import render
    from archc.tools.diff import diff, side

    ca, cb = _compile(spec_a, pass_a, None, var), _compile(spec_b, pass_b, None, var)
    d = diff(ca.report, cb.report, side(ca.report, spec_a, pass_a or []), side(cb.report, spec_b, pass_b or []))
    if json_:
        print(json.dumps(d))
        return
    render.diff(d)
