"""Sweeps over pass settings and their Pareto fronts: sweep, pareto."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from archc.app import requests as rq
from archc.app.values import QUIET, Hooks
from archc.errors import KEPT, ArchcError


@dataclass(frozen=True)
class Swept:
    results: list  # archc.sweep.sweep.Result, one per configuration, in the grid's order
    seconds: float  # wall clock of the whole sweep
    out: Path | None
    plotted: object = None  # the Plotted frontier, with Sweep.plot

    def rows(self) -> list[dict]:
        """The `sweep --json` list: one results.json row per configuration."""
        return [r.row() for r in self.results]


def sweep(request: rq.Sweep, hooks: Hooks = QUIET) -> Swept:
    """Analyse (and profile, train) every combination of pass settings; invalid ones are skipped with a
    reason. Every cheap check is made before any work."""
    from archc.sweep.sweep import configurations, write_results

    engine, r = _checked(request), request
    if r.predict is not None and (r.train is None or r.out is None or r.predict < 1):
        raise ArchcError("--predict N needs --train EPOCHS, --data DIR and --out DIR (N >= 1): it shows the trained "
                         "models' masks")
    start, settings = time.perf_counter(), _settings(r)
    if r.out is not None:  # what an interrupted sweep leaves (the CLI's last line)
        KEPT[:] = [f"{r.out} keeps what was finished (cache/" + (", train_cache/, train_runs/" if r.train else "")
                   + "): the same command reuses it"]
    with hooks.progress(len(configurations(engine.grid)) * (2 if r.profile else 1), "sweep") as step:
        results = engine.run(r.out, settings if r.profile else None, step)
    if r.train is not None:
        from archc.sweep.sweep_train import train_results
        from archc.train.loop import Config

        with hooks.progress(sum(x.status == "ok" for x in results), "train") as step:
            train_results(engine, results, r.data, Config(r.train), r.out, progress=step)
        if r.predict is not None:
            from archc.sweep.sweep_train import predict_sheet

            predict_sheet(engine, results, r.data, r.out, r.predict)
    seconds, plotted = time.perf_counter() - start, None
    if r.out:
        write_results(results, r.out)
        if r.plot:
            plotted = pareto(rq.Pareto(r.out / "results.csv", r.plot, None, r.out / "pareto", r.better, "--plot",
                                          epochs=r.train))
    return Swept(results, seconds, r.out, plotted)


def _settings(r: rq.Sweep) -> dict:
    """How --profile times each configuration (part of its cache key)."""
    from archc.measure.profile import check_runs, check_threads

    check_runs(r.timing.runs, r.timing.warmup)
    t, host = r.timing, r.device.host
    check_threads(t.threads, host is not None)
    return {"runs": t.runs, "warmup": t.warmup, "threads": t.threads, **({"host": host} if host else {})}


def _checked(r: rq.Sweep):
    """The sweep engine the request describes, every cheap check made before any work."""
    from archc.fs import claim_dir
    from archc.lang.library import resolve_spec
    from archc.measure.latency_model import load
    from archc.sweep.cache import OUTPUTS
    from archc.sweep.executors import executor as make_executor
    from archc.sweep.sweep import Sweep, parse_grid

    device = r.device.target()
    if (r.plot or r.better) and r.out is None:
        raise ArchcError("--plot draws DIR/pareto.png and .svg: give the folder with --out DIR")
    grid = parse_grid(list(r.grid))
    if r.plot:
        axes(r.plot, "--plot")
    if (r.train is None) != (r.data is None):
        raise ArchcError("--train EPOCHS and --data DIR go together: give both or neither")
    if r.train is not None:  # a bad --data: refused before the folder is made and anything is analysed
        from archc.train.datasets import check_splits

        check_splits(r.data)
    model = load(r.latency_model).to_json() if r.latency_model else None
    runner = make_executor(r.executor, r.address, r.jobs)  # a bad --address: refused before the folder is made
    if r.out:
        claim_dir(r.out, OUTPUTS, r.force)  # before any work: a folder archc did not make needs --force
    return Sweep(str(resolve_spec(r.source.spec)), grid, r.source.input, dict(r.source.variables), r.jobs, model,
                 device if device.host else None, runner)


def axes(text: str, flag: str) -> tuple:
    """'macs,fps' -> ('macs', 'fps')."""
    x, sep, y = text.partition(",")
    if not sep or not x.strip() or not y.strip():
        raise ArchcError(f"{flag} {text}: expected X,Y columns, e.g. macs,fps")
    return x.strip(), y.strip()


def directions(better: str | None) -> tuple:
    """'low,high' -> (True, False): which end of each axis is better (None: by column name)."""
    if not better:
        return None, None
    parts = [p.strip() for p in better.split(",")]
    if len(parts) != 2 or any(p not in ("low", "high") for p in parts):
        raise ArchcError(f"--better {better}: expected two of low/high, e.g. --better low,high")
    return tuple(p == "low" for p in parts)


@dataclass(frozen=True)
class Plotted:
    files: list  # the pictures written
    front: list  # the rows on the frontier


def pareto(request: rq.Pareto) -> Plotted:
    """A Pareto frontier (PNG and/or SVG) of sweep results, optionally joined with measured quality;
    every file or none is written."""
    from contextlib import ExitStack

    from archc.app.outputs import plot_targets
    from archc.fs import atomic_file
    from archc.sweep import pareto as frontier

    x, y = axes(request.axes, request.flag)
    low = directions(request.better)
    rows = frontier.load_rows(request.results)
    rows = frontier.join(rows, request.quality) if request.quality else rows
    targets = plot_targets(request.output, request.results)
    with ExitStack() as stack:  # every file or none
        tmps = [(stack.enter_context(atomic_file(path)), fmt) for path, fmt in targets]
        front = frontier.plot(rows, x, y, tmps, frontier.Labels(x_low=low[0], y_low=low[1], epochs=request.epochs))
    return Plotted([path for path, _ in targets], front)
