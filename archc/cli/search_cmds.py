"""`archc search`: the best configuration of a space under budgets (Optuna), run locally or on Ray."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from archc.cli.app import JsonOpt, SpecArg, ThreadsOpt, VarOpt, app, boundary, parse_vars
from archc.cli.device_opts import (HostOpt, IdentityOpt, LatencyModelOpt, RemotePythonOpt, SshConfigOpt,
                                   target as _target)
from archc.cli.executor_opts import AddressOpt, ExecutorOpt
from archc.errors import ArchcError

SamplerOpt = Annotated[str, typer.Option(help="grid, tpe or nsga2")]
TrialsOpt = Annotated[Optional[int], typer.Option(help="finished trials wanted (grid: all)")]
TrainOpt = Annotated[Optional[int], typer.Option("--train", help="EPOCHS of training per trial (miou)")]
DataOpt = Annotated[Optional[Path], typer.Option(help="dataset folder for --train (archc data synth)")]
StorageOpt = Annotated[Optional[str], typer.Option(help="Optuna RDB URL (default sqlite:///OUT/study.db)")]
SeedOpt = Annotated[int, typer.Option(help="the sampler's seed")]
RunsOpt = Annotated[int, typer.Option(help="timed runs per latency measurement")]
WarmupOpt = Annotated[int, typer.Option(help="untimed runs before each latency measurement")]
BuildOpt = Annotated[bool, typer.Option(help="export and verify the winner into OUT/winner/")]
JobsOpt = Annotated[int, typer.Option(help="worker processes (0: all cores)")]


@app.command()
@boundary
def search(spec: SpecArg,
           space: Annotated[Path, typer.Option("--space", help="the search space (spaces/*.yaml)")],
           objective: Annotated[List[str], typer.Option("--objective", help="COL[:min|max], repeatable: "
                                                        "miou, macs, params, median_ms, ...")],
           out: Annotated[Path, typer.Option("--out", "-o", help="results, front, the winner's spec.yaml")],
           budget: Annotated[Optional[List[str]], typer.Option("--budget", help="COL<=X or COL>=X, "
                                                               "e.g. 'median_ms<=33.4'")] = None,
           sampler: SamplerOpt = "tpe", trials: TrialsOpt = None, train: TrainOpt = None, data: DataOpt = None,
           storage: StorageOpt = None, seed: SeedOpt = 0, runs: RunsOpt = 30,
           runtime: Annotated[str, typer.Option(help="latency in ort (ONNX Runtime, exported) or torch "
                                                "(PyTorch eager, no export)")] = "ort",
           build: BuildOpt = True, executor: ExecutorOpt = "local", address: AddressOpt = None, jobs: JobsOpt = 0,
           var: VarOpt = None, json_: JsonOpt = False, latency_model: LatencyModelOpt = None,
           host: HostOpt = None, identity: IdentityOpt = None, ssh_config: SshConfigOpt = None,
           remote_python: RemotePythonOpt = None, threads: ThreadsOpt = 1, warmup: WarmupOpt = 5):
    """Search a space of pass settings for the best configuration under budgets; resumable. Latency: timed here,
    on --host, or predicted by --latency-model (both: ranked by the model, the front confirmed on the device)."""
    from archc.cli import render_search
    from archc.lang.library import resolve_spec
    from archc.search.run import SearchRequest, run_search
    from archc.search.stages import PROFILE
    from archc.sweep.executors import executor as make_executor

    _check(train, data, runtime, trials, (runs, warmup, threads))
    device = _target(host, identity, ssh_config, remote_python)
    if host and runtime != "ort":
        raise ArchcError(f"--runtime {runtime}: a device (--host) times ONNX Runtime; leave --runtime out")
    req = SearchRequest(str(resolve_spec(spec)), str(space), list(objective), list(budget or ()), sampler, trials, seed,
                        parse_vars(var), {"epochs": train, "data": str(data)} if train else None, storage,
                        make_executor(executor, address, jobs),
                        profile=dict(PROFILE, runs=runs, warmup=warmup, threads=threads, runtime=runtime), build=build,
                        latency_model=str(latency_model) if latency_model else None,
                        target=device if host else None)
    with render_search.progress(trials or 0, "search") as step:
        outcome = run_search(req, out, step)
    if json_:
        print(json.dumps({"winner": outcome.winner, "front": outcome.front, "trials": len(outcome.rows),
                          **{k: outcome.summary.get(k) for k in ("latency", "notes")}}))
    else:
        render_search.outcome(outcome, out)


def _check(train, data, runtime: str, trials, timing: tuple) -> None:
    """The options' own errors, before any work."""
    from archc.measure.profile import check_runs, check_threads
    from archc.search.stages import RUNTIMES as runtimes

    check_runs(*timing[:2])
    check_threads(timing[2])
    if (train is None) != (data is None):
        raise ArchcError("--train EPOCHS and --data DIR go together")
    if runtime not in runtimes:
        raise ArchcError(f"--runtime {runtime}: expected one of {', '.join(runtimes)}")
    if trials is not None and trials < 1:
        raise ArchcError(f"--trials {trials}: must be >= 1")
