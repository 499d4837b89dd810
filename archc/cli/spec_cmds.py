"""Commands that read a spec and print: validate, summary, ops, passes, graph, explain, diff."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

import archc.app as calls
from archc.cli.app import InputOpt, JsonOpt, PassOpt, RecipeOpt, SpecArg, VarOpt, app, boundary, hooks, source
from archc.cli.device_opts import LatencyModelOpt
from archc.cli.weights_opts import WeightsMapOpt, WeightsOpt


@app.command()
@boundary
def validate(spec: SpecArg):
    """Check a spec: YAML, schema, ops, references and shapes."""
    from archc.cli import render

    v = calls.validate(calls.Validate(spec), hooks())
    render.message(f"{spec}: ok ({v.primitives} primitives, output {', '.join(map(render.shape, v.outputs))})")


@app.command()
@boundary
def summary(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None, json_: JsonOpt = False,
            layers: Annotated[bool, typer.Option(help="list every layer")] = True, recipe: RecipeOpt = None,
            weights: WeightsOpt = None, weights_map: WeightsMapOpt = None, latency_model: LatencyModelOpt = None):
    """Params, MACs and activation memory per layer and in total (torchinfo's semantics);
    with --weights, also whether (and how) the checkpoint fits; with --latency-model, predicted latency."""
    request = calls.Summary(source(spec, pass_, input, var, recipe), calls.Weights(weights, weights_map), latency_model)
    result = calls.summary(request, hooks(quiet_weights=json_))
    if json_:
        print(json.dumps(result.to_json()))
        return
    from archc.cli import render_plain

    if not render_plain.summary(result, layers):  # piped output: the same text without loading rich
        from archc.cli import render

        render.summary(result, layers)
    if result.latency:
        from archc.cli import render

        render.message(f"predicted latency {result.latency['predicted_ms']:.2f} ms (latency model {latency_model})")


@app.command()
@boundary
def ops(name: Annotated[Optional[str], typer.Argument(help="one op or block, shown in full")] = None):
    """List the primitive ops and blocks a spec can use (`archc ops NAME`: one of them in full)."""
    from archc.cli import render

    result = calls.ops(calls.Ops(name))
    if result.detail is not None:
        render.op_detail(result.detail)
        return
    render.ops(result.entries)


@app.command()
@boundary
def graph(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
          format: Annotated[Optional[str], typer.Option("--format", "-f", help="dot, mermaid, png or svg "
                                                        "(default: from -o's suffix, else dot)")] = None,
          output: Annotated[Optional[Path], typer.Option("-o", "--output",
                                                         help="file (default: stdout for text)")] = None,
          expand: Annotated[bool, typer.Option(help="draw every primitive, blocks as clusters")] = False):
    """Draw the network: stages as clusters, blocks as nodes (or expanded), shapes on edges."""
    from archc.cli import render

    drawn = calls.graph(calls.Graph(source(spec, pass_, input, var), format, output, expand), hooks())
    if output is None:
        print(drawn.text, end="")
        return
    render.message(f"wrote {output} ({drawn.format})")


@app.command()
@boundary
def explain(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
            markdown: Annotated[bool, typer.Option("--markdown", help="print Markdown source")] = False,
            latency: Annotated[bool, typer.Option("--latency", help="add measured ms per row and primitive "
                                                  "(ONNX Runtime per layer, as profile --per-layer)")] = False):
    """The spec's tables as a paper prints them, each block expanded with its MAC formulas."""
    from archc.cli import render

    render.markdown(calls.explain(calls.Explain(source(spec, pass_, input, var), latency), hooks()), raw=markdown)


@app.command("passes")
@boundary
def passes_cmd():
    """List the passes (--pass NAME=VALUE, recipe files) with their arguments."""
    from archc.cli import render

    render.passes(calls.passes())


@app.command("diff")
@boundary
def diff_cmd(spec_a: SpecArg,
             spec_b: Annotated[Path, typer.Argument(help="the spec to compare with", show_default=False)],
             pass_a: Annotated[Optional[List[str]], typer.Option("--pass-a",
                                                                 help="a pass on side A, repeatable")] = None,
             pass_b: Annotated[Optional[List[str]], typer.Option("--pass-b",
                                                                 help="a pass on side B, repeatable")] = None,
             var: VarOpt = None, json_: JsonOpt = False, input: InputOpt = None):
    """Compare two specs (or one spec with and without passes): totals and per stage, with B - A.
    --input sets both sides' input size."""
    from archc.cli import render

    d = calls.diff(calls.Diff(source(spec_a, pass_a, input, var), source(spec_b, pass_b, input, var)), hooks())
    if json_:
        print(json.dumps(d))
        return
    render.diff(d)
