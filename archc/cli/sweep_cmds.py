"""Sweeps over pass settings and their Pareto fronts."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

import archc.app as calls
from archc.cli.app import InputOpt, JsonOpt, SpecArg, ThreadsOpt, VarOpt, app, boundary, hooks, source
from archc.cli.device_opts import HostOpt, IdentityOpt, LatencyModelOpt, RemotePythonOpt, SshConfigOpt, device
from archc.cli.executor_opts import AddressOpt, ExecutorOpt

RunsOpt = Annotated[int, typer.Option(help="timed runs per configuration, with --profile")]
WarmupOpt = Annotated[int, typer.Option(help="untimed runs first, with --profile")]
PredictOpt = Annotated[Optional[int], typer.Option("--predict", help="N: with --train, a sheet of N val images "
                                                   "across the trained models in DIR/predict/")]


@app.command()
@boundary
def sweep(spec: SpecArg,
          grid: Annotated[List[str], typer.Option("--grid", "-g",
                                                  help="NAME=V1,V2,... (a pass; `none` leaves it out)")],
          input: InputOpt = None, var: VarOpt = None,
          profile: Annotated[bool, typer.Option(help="also measure ONNX Runtime latency (one at a time)")] = False,
          out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write results.csv/json and a cache")] = None,
          jobs: Annotated[int, typer.Option(help="worker processes (0: all cores, or this process for short "
                                                 "work)")] = 0,
          force: Annotated[bool, typer.Option(help="write into an existing directory not made by archc "
                                                   "(beside its files, never over them)")] = False,
          plot: Annotated[Optional[str], typer.Option(help="X,Y: also draw DIR/pareto.png and .svg")] = None,
          train: Annotated[Optional[int], typer.Option("--train", help="EPOCHS: train each valid configuration, "
                                                       "adds miou")] = None,
          data: Annotated[Optional[Path], typer.Option("--data", help="dataset for --train")] = None,
          predict: PredictOpt = None, executor: ExecutorOpt = "local", address: AddressOpt = None,
          better: Annotated[Optional[str], typer.Option(help="low|high,low|high: the better end of --plot's X and Y "
                                                        "(default: low for params, MACs, latency; else high)")] = None,
          json_: JsonOpt = False, latency_model: LatencyModelOpt = None,
          threads: ThreadsOpt = 1, host: HostOpt = None, identity: IdentityOpt = None,
          ssh_config: SshConfigOpt = None, remote_python: RemotePythonOpt = None, runs: RunsOpt = 30,
          warmup: WarmupOpt = 5):
    """Analyse (and profile) every combination of pass settings; invalid ones are skipped with a reason."""
    from archc.cli import render

    request = calls.Sweep(source(spec, None, input, var), tuple(grid), out, jobs, force, profile,
                          calls.Timing(threads, runs, warmup), device(host, identity, ssh_config, remote_python),
                          latency_model, train, data, executor, address, plot, better, predict)
    swept = calls.sweep(request, hooks())
    if swept.plotted is not None:
        _plotted(swept.plotted)
    if json_:
        print(json.dumps(swept.rows()))
    else:
        render.sweep(swept.results, swept.seconds, out)


def _plotted(plotted) -> None:
    from archc.cli import render

    render.message(f"wrote {' and '.join(str(p) for p in plotted.files)}: {len(plotted.front)} configurations "
                   f"on the frontier")


@app.command("pareto")
@boundary
def pareto_cli(results: Annotated[Path, typer.Argument(help="results.csv or results.json of a sweep")],
               axes: Annotated[str, typer.Option("--axes", help="X,Y columns, e.g. median_ms,iou")] = "macs,fps",
               quality: Annotated[Optional[Path], typer.Option(help="CSV with a config column and quality "
                                                               "columns")] = None,
               output: Annotated[Optional[Path], typer.Option("-o", "--output", help="FILE.png, FILE.svg, or a name "
                                                              "without suffix for both (default: pareto.png and "
                                                              ".svg beside RESULTS)")] = None,
               better: Annotated[Optional[str], typer.Option(
                   help="low|high,low|high: the better end of X and Y (default: low for params, MACs, latency; "
                        "else high)")] = None,
               epochs: Annotated[Optional[int], typer.Option(help="epochs the mIoU was trained for (in the "
                                                             "title)")] = None):
    """Plot a Pareto frontier (PNG and SVG) of sweep results, optionally joined with measured quality."""
    _plotted(calls.pareto(calls.Pareto(results, axes, quality, output, better, epochs=epochs)))
