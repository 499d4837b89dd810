"""Sweeps over pass settings and their Pareto fronts."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from archc.cli.app import (InputOpt, JsonOpt, SpecArg, VarOpt, app, boundary, parse_vars)
from archc.errors import ArchcError


@app.command()
@boundary
def sweep(spec: SpecArg,
          grid: Annotated[List[str], typer.Option("--grid", "-g", help="NAME=V1,V2,... (a pass; `none` leaves it out)")],
          input: InputOpt = None, var: VarOpt = None,
          profile: Annotated[bool, typer.Option(help="also measure ONNX Runtime latency (one at a time)")] = False,
          out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write results.csv/json and a cache")] = None,
          jobs: Annotated[int, typer.Option(help="worker processes (0: all cores)")] = 0,
          force: Annotated[bool, typer.Option(help="write into an existing directory not made by archc "
                                                   "(beside its files, never over them)")] = False,
          plot: Annotated[Optional[str], typer.Option(help="X,Y: also draw DIR/pareto.png and .svg")] = None,
          json_: JsonOpt = False):
    """Analyse (and profile) every combination of pass settings; invalid ones are skipped with a reason."""
    import time

    from archc.cli import render
    from archc.fs import claim_dir
    from archc.tools.cache import OUTPUTS
    from archc.tools.sweep import Sweep, configurations, parse_grid, write_results

    grid_ = parse_grid(grid)
    if plot:
        _axes(plot, "--plot")
    if out:
        claim_dir(out, OUTPUTS, force)  # before any work: a folder archc did not make needs --force
    sw = Sweep(str(spec), grid_, input, parse_vars(var), jobs)
    n = len(configurations(grid_)) * (2 if profile else 1)
    start = time.perf_counter()
    with render.progress(n, "sweep") as step:
        results = sw.run(out, {"runs": 30, "warmup": 5, "threads": 1} if profile else None, step)
    seconds = time.perf_counter() - start
    if out:
        write_results(results, out)
        if plot:
            _pareto(out / "results.csv", plot, None, out / "pareto", flag="--plot")
    if json_:
        print(json.dumps([r.row() for r in results]))
    else:
        render.sweep(results, seconds, out)


def _axes(axes: str, flag: str) -> tuple:
    x, sep, y = axes.partition(",")
    if not sep or not x.strip() or not y.strip():
        raise ArchcError(f"{flag} {axes}: expected X,Y columns, e.g. macs,fps")
    return x.strip(), y.strip()


def _pareto(results: Path, axes: str, quality, stem: Path, better: str | None = None, flag: str = "--axes"):
    from archc.tools import pareto
    from archc.cli import render
    from archc.fs import atomic_file

    x, y = _axes(axes, flag)
    low = _directions(better)
    rows = pareto.load_rows(results)
    rows = pareto.join(rows, quality) if quality else rows
    with atomic_file(stem.with_suffix(".png")) as png, atomic_file(stem.with_suffix(".svg")) as svg:
        front = pareto.plot(rows, x, y, [(png, "png"), (svg, "svg")],
                            x_low=low[0], y_low=low[1])
    render.message(f"wrote {stem}.png and {stem}.svg: {len(front)} configurations on the frontier")


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
               output: Annotated[Path, typer.Option("-o", "--output", help="path without suffix")] = Path("pareto"),
               better: Annotated[Optional[str], typer.Option(help="low|high,low|high: the better end of X and Y "
                                                             "(default: low for params, MACs, latency; else high)")] = None):
    """Plot a Pareto frontier (PNG and SVG) of sweep results, optionally joined with measured quality."""
    _pareto(results, axes, quality, output, better)
