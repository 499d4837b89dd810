"""Commands that read a spec and print: validate, summary, ops, passes, graph, explain, diff."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from archc.cli.app import (InputOpt, JsonOpt, PassOpt, RecipeOpt, SpecArg, VarOpt, _compile,
                           app, boundary)
from archc.cli.weights_opts import WeightsMapOpt, WeightsOpt, from_run, original_of, with_weights
from archc.cli.device_opts import LatencyModelOpt, predict
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
            layers: Annotated[bool, typer.Option(help="list every layer")] = True, recipe: RecipeOpt = None,
            weights: WeightsOpt = None, weights_map: WeightsMapOpt = None, latency_model: LatencyModelOpt = None):
    """Params, MACs and activation memory per layer and in total (torchinfo's semantics);
    with --weights, also whether (and how) the checkpoint fits; with --latency-model, predicted latency."""
    spec, weights = from_run(spec, weights, pass_, input, recipe)  # a training run: its model and weights
    compiled = _compile(spec, pass_, input, var, recipe)
    original = original_of(spec, pass_, recipe, var) if weights else None
    report, mapped = compiled.report, with_weights(compiled, weights, weights_map, json_, original)[1]
    latency = predict(latency_model, compiled.graph) if latency_model else None
    if json_:
        print(json.dumps({**report.to_json(), **({"weights": mapped.to_json()} if mapped else {}),
                          **({"latency_model": latency} if latency else {})}))
        return
    from archc.cli import render

    render.summary(report, layers)
    if latency:
        render.message(f"predicted latency {latency['predicted_ms']:.2f} ms (latency model {latency_model})")


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
          format: Annotated[Optional[str], typer.Option("--format", "-f", help="dot, mermaid, png or svg "
                                                        "(default: from -o's suffix, else dot)")] = None,
          output: Annotated[Optional[Path], typer.Option("-o", "--output", help="file (default: stdout for text)")] = None,
          expand: Annotated[bool, typer.Option(help="draw every primitive, blocks as clusters")] = False):
    """Draw the network: stages as clusters, blocks as nodes (or expanded), shapes on edges."""
    from archc.reports import draw
    from archc.cli import render
    from archc.cli.outputs import graph_format
    from archc.fs import atomic_file

    fmt = graph_format(output, format)
    g = _compile(spec, pass_, input, var).graph
    text = draw.to_mermaid(g, expand) if fmt == "mermaid" else draw.to_dot(g, expand)
    if output is None:
        print(text, end="")
        return
    with atomic_file(output) as tmp:
        if fmt in ("png", "svg"):
            draw.render(text, fmt, tmp)
        else:
            tmp.write_text(text)
    render.message(f"wrote {output} ({fmt})")


@app.command()
@boundary
def explain(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
            markdown: Annotated[bool, typer.Option("--markdown", help="print Markdown source")] = False,
            latency: Annotated[bool, typer.Option("--latency", help="add measured ms per row and primitive "
                                                  "(ONNX Runtime per layer, as profile --per-layer)")] = False):
    """The spec's tables as a paper prints them, each block expanded with its MAC formulas."""
    from archc.cli import render
    from archc.reports.explain import markdown as explain_md

    compiled = _compile(spec, pass_, input, var)
    render.markdown(explain_md(compiled, _layer_ms(compiled) if latency else None), raw=markdown)


def _layer_ms(compiled) -> dict:
    """Layer name -> ms on this machine, from a per-layer profile of the built model."""
    from archc.deploy.artifacts import BuildOptions, profile_target
    from archc.measure.targets import Target

    results, _ = profile_target(compiled.spec.name, compiled, "ort", BuildOptions(target=Target(per_layer=True)))
    return {l["name"]: l["ms"] for l in results[0]["layers"]}


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
    from archc.reports.diff import diff, side

    ca, cb = _compile(spec_a, pass_a, None, var), _compile(spec_b, pass_b, None, var)
    d = diff(ca.report, cb.report, side(ca.report, spec_a, pass_a or []), side(cb.report, spec_b, pass_b or []))
    if json_:
        print(json.dumps(d))
        return
    render.diff(d)
