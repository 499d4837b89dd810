"""Sweeps over pass settings and their Pareto fronts."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from archc.cli.app import (InputOpt, JsonOpt, SpecArg, ThreadsOpt, VarOpt, app, boundary, parse_vars)
from archc.cli.device_opts import (HostOpt, IdentityOpt, LatencyModelOpt, RemotePythonOpt, SshConfigOpt,
                                   target as _target)
from archc.cli.executor_opts import AddressOpt, ExecutorOpt
from archc.errors import ArchcError

RunsOpt = Annotated[int, typer.Option(help="timed runs per configuration, with --profile")]
WarmupOpt = Annotated[int, typer.Option(help="untimed runs first, with --profile")]


@app.command()
@boundary
def sweep(spec: SpecArg,
          grid: Annotated[List[str], typer.Option("--grid", "-g", help="NAME=V1,V2,... (a pass; `none` leaves it out)")],
          input: InputOpt = None, var: VarOpt = None,
          profile: Annotated[bool, typer.Option(help="also measure ONNX Runtime latency (one at a time)")] = False,
          out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write results.csv/json and a cache")] = None,
          jobs: Annotated[int, typer.Option(help="worker processes (0: all cores, or this process for short work)")] = 0,
          force: Annotated[bool, typer.Option(help="write into an existing directory not made by archc "
                                                   "(beside its files, never over them)")] = False,
          plot: Annotated[Optional[str], typer.Option(help="X,Y: also draw DIR/pareto.png and .svg")] = None,
          train: Annotated[Optional[int], typer.Option("--train", help="EPOCHS: train each valid configuration, "
                                                       "adds miou")] = None,
          data: Annotated[Optional[Path], typer.Option("--data", help="dataset for --train")] = None,
          executor: ExecutorOpt = "local", address: AddressOpt = None,
          better: Annotated[Optional[str], typer.Option(help="low|high,low|high: the better end of --plot's X and Y "
                                                        "(default: low for params, MACs, latency; else high)")] = None,
          json_: JsonOpt = False, latency_model: LatencyModelOpt = None,
          threads: ThreadsOpt = 1, host: HostOpt = None, identity: IdentityOpt = None,
          ssh_config: SshConfigOpt = None, remote_python: RemotePythonOpt = None, runs: RunsOpt = 30,
          warmup: WarmupOpt = 5):
    """Analyse (and profile) every combination of pass settings; invalid ones are skipped with a reason."""
    import time

    from archc.cli import render
    from archc.sweep.sweep import configurations, write_results

    sw = _checked_sweep(spec, grid, input, var, jobs, out, force, plot, better, train, data, latency_model,
                        _target(host, identity, ssh_config, remote_python), executor, address)
    start, settings = time.perf_counter(), _settings(runs, warmup, threads, host)
    with render.progress(len(configurations(sw.grid)) * (2 if profile else 1), "sweep") as step:
        results = sw.run(out, settings if profile else None, step)
    _train(sw, results, train, data, out)
    seconds = time.perf_counter() - start
    if out:
        write_results(results, out)
        if plot:
            _pareto(out / "results.csv", plot, None, out / "pareto", better, flag="--plot")
    if json_:
        print(json.dumps([r.row() for r in results]))
    else:
        render.sweep(results, seconds, out)


def _settings(runs: int, warmup: int, threads: int, host: str | None) -> dict:
    """How --profile times each configuration (part of its cache key)."""
    from archc.measure.profile import check_runs, check_threads

    check_runs(runs, warmup)
    check_threads(threads, host is not None)
    return {"runs": runs, "warmup": warmup, "threads": threads, **({"host": host} if host else {})}


def _train(sw, results, epochs, data, out) -> None:
    """sweep --train: every valid configuration trained, its mIoU added."""
    if epochs is None:
        return
    from archc.cli import render
    from archc.sweep.sweep_train import train_results

    with render.progress(sum(r.status == "ok" for r in results), "train") as step:
        train_results(sw, results, epochs, data, out, progress=step)


def _checked_sweep(spec, grid, input, var, jobs, out, force, plot, better, train, data, latency_model, device,
                   executor, address):
    """The Sweep the options describe, every cheap check made before any work."""
    from archc.fs import claim_dir
    from archc.lang.library import resolve_spec
    from archc.measure.latency_model import load
    from archc.sweep.cache import OUTPUTS
    from archc.sweep.executors import executor as make_executor
    from archc.sweep.sweep import Sweep, parse_grid

    if (plot or better) and out is None:
        raise ArchcError("--plot draws DIR/pareto.png and .svg: give the folder with --out DIR")
    grid_ = parse_grid(grid)
    if plot:
        _axes(plot, "--plot")
    if (train is None) != (data is None):
        raise ArchcError("--train EPOCHS and --data DIR go together: give both or neither")
    model = load(latency_model).to_json() if latency_model else None
    runner = make_executor(executor, address, jobs)  # a bad --address: refused before the folder is made
    if out:
        claim_dir(out, OUTPUTS, force)  # before any work: a folder archc did not make needs --force
    return Sweep(str(resolve_spec(spec)), grid_, input, parse_vars(var), jobs, model, device if device.host else None,
                 runner)


def _axes(axes: str, flag: str) -> tuple:
    x, sep, y = axes.partition(",")
    if not sep or not x.strip() or not y.strip():
        raise ArchcError(f"{flag} {axes}: expected X,Y columns, e.g. macs,fps")
    return x.strip(), y.strip()


def _pareto(results: Path, axes: str, quality, output: Path | None, better: str | None = None,
            flag: str = "--axes"):
    from contextlib import ExitStack

    from archc.sweep import pareto
    from archc.cli import render
    from archc.cli.outputs import plot_targets
    from archc.fs import atomic_file

    x, y = _axes(axes, flag)
    low = _directions(better)
    rows = pareto.load_rows(results)
    rows = pareto.join(rows, quality) if quality else rows
    targets = plot_targets(output, results)
    with ExitStack() as stack:  # every file or none
        tmps = [(stack.enter_context(atomic_file(path)), fmt) for path, fmt in targets]
        front = pareto.plot(rows, x, y, tmps, x_low=low[0], y_low=low[1])
    render.message(f"wrote {' and '.join(str(p) for p, _ in targets)}: {len(front)} configurations on the frontier")


def _directions(better: str | None) -> tuple:
    """'low,high' -> (True, False): which end of each axis is better (None: by column name)."""

    if not better:
        return None, None
    parts = [p.strip() for p in better.split(",")]
    if len(parts) != 2 or any(p not in ("low", "high") for p in parts):
        raise ArchcError(f"--better {better}: expected two of low/high, e.g. --better low,high")
    return tuple(p == "low" for p in parts)


@app.command("pareto")
@boundary
def pareto_cli(results: Annotated[Path, typer.Argument(help="results.csv or results.json of a sweep")],
               axes: Annotated[str, typer.Option("--axes", help="X,Y columns, e.g. median_ms,iou")] = "macs,fps",
               quality: Annotated[Optional[Path], typer.Option(help="CSV with a config column and quality columns")] = None,
               output: Annotated[Optional[Path], typer.Option("-o", "--output", help="FILE.png, FILE.svg, or a name "
                                                              "without suffix for both (default: pareto.png and "
                                                              ".svg beside RESULTS)")] = None,
               better: Annotated[Optional[str], typer.Option(help="low|high,low|high: the better end of X and Y "
                                                             "(default: low for params, MACs, latency; else high)")] = None):
    """Plot a Pareto frontier (PNG and SVG) of sweep results, optionally joined with measured quality."""
    _pareto(results, axes, quality, output, better)
