"""`archc report`: one self-contained HTML page per spec (archc.app.report does the work)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

import archc.app as calls
from archc.cli.app import PassOpt, SpecArg, VarOpt, app, boundary, parse_vars
from archc.cli.device_opts import LatencyModelOpt

GridOpt = Annotated[Optional[List[str]], typer.Option("--grid", "-g", help="NAME=V1,V2,...: a knob and its values "
                                                      "(default: the spec's width, expand, repeat and input)")]


@app.command()
@boundary
def report(spec: SpecArg,
           output: Annotated[Path, typer.Option("-o", "--output", help="the HTML file to write")],
           pass_: PassOpt = None, var: VarOpt = None, grid: GridOpt = None, latency_model: LatencyModelOpt = None,
           profile: Annotated[bool, typer.Option(help="measure latency per layer here (ONNX Runtime)")] = False,
           diff: Annotated[Optional[str], typer.Option("--diff", help="another spec, shown side by side")] = None,
           weights: Annotated[Optional[Path], typer.Option(help="checkpoint: with --data, the mIoU")] = None,
           data: Annotated[Optional[Path], typer.Option(help="dataset folder for --weights' mIoU")] = None,
           masks: Annotated[Optional[Path], typer.Option(help="a folder of predicted-mask pictures to show")] = None):
    """One self-contained HTML page: the spec's tables with costs, the graph, the knobs, a comparison."""
    from archc.cli import render

    result = calls.write_report(calls.ReportRequest(str(spec), output, tuple(pass_ or ()), parse_vars(var),
                                                    tuple(grid or ()),
                                          latency_model, profile, diff, weights, data, masks))
    render.message(f"wrote {result.path} ({result.bytes / 1e3:,.0f} kB, {result.configurations} configurations, "
                   f"{result.seconds:.1f} s)")
