"""`archc search`: the best configuration of a space under budgets (Optuna), run locally or on Ray."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

import archc.app as calls
from archc.cli.app import JsonOpt, SpecArg, ThreadsOpt, VarOpt, app, boundary, hooks, source
from archc.cli.device_opts import HostOpt, IdentityOpt, LatencyModelOpt, RemotePythonOpt, SshConfigOpt, device
from archc.cli.executor_opts import AddressOpt, ExecutorOpt

SamplerOpt = Annotated[str, typer.Option(help="grid, tpe or nsga2")]
TrialsOpt = Annotated[Optional[int], typer.Option(help="finished trials wanted (grid: all)")]
TrainOpt = Annotated[Optional[int], typer.Option("--train", help="EPOCHS of training per trial (miou)")]
DataOpt = Annotated[Optional[Path], typer.Option(help="dataset folder for --train (archc data synth)")]
StorageOpt = Annotated[Optional[str], typer.Option(help="the study's SQLite file, sqlite:///PATH "
                                                           "(default OUT/study.db)")]
SeedOpt = Annotated[int, typer.Option(help="the sampler's seed")]
RunsOpt = Annotated[int, typer.Option(help="timed runs per latency measurement")]
WarmupOpt = Annotated[int, typer.Option(help="untimed runs before each latency measurement")]
BuildOpt = Annotated[bool, typer.Option(help="export and verify the winner into OUT/winner/")]
JobsOpt = Annotated[int, typer.Option(help="worker processes (0: all cores)")]
JoinOpt = Annotated[bool, typer.Option("--join", help="work on a --storage study another archc search is running "
                                       "(each with its own --out); without it a second process is refused")]


@app.command()
@boundary
def search(spec: SpecArg,
           space: Annotated[Path, typer.Option("--space", help="the search space (spaces/*.yaml)")],
           objective: Annotated[List[str], typer.Option("--objective", help="COL[:min|max], repeatable: "
                                                        "miou, macs, params, median_ms, ...")],
           out: Annotated[Path, typer.Option("--out", "-o", help="results, front, the winner's spec.yaml")],
           budget: Annotated[Optional[List[str]], typer.Option("--budget", help="COL<=X or COL>=X, "
                                                               "e.g. 'median_ms<=33.4'")] = None,
           sampler: Annotated[str, typer.Option(help="grid, tpe or nsga2")] = "tpe",
           trials: Annotated[Optional[int], typer.Option(help="finished trials wanted (grid: all)")] = None,
           train: Annotated[Optional[int], typer.Option("--train", help="EPOCHS of training per trial (miou)")] = None,
           data: Annotated[Optional[Path], typer.Option(help="dataset folder for --train (archc data synth)")] = None,
           storage: Annotated[Optional[str], typer.Option(help="the study's SQLite file, sqlite:///PATH "
                                                               "(default OUT/study.db)")] = None,
           seed: Annotated[int, typer.Option(help="the sampler's seed")] = 0,
           runs: Annotated[int, typer.Option(help="timed runs per latency measurement")] = 30,
           runtime: Annotated[str, typer.Option(help="latency in ort (ONNX Runtime, exported) or torch "
                                                "(PyTorch eager, no export)")] = "ort",
           build: BuildOpt = True, executor: ExecutorOpt = "local", address: AddressOpt = None, jobs: JobsOpt = 0,
           var: VarOpt = None, json_: JsonOpt = False, latency_model: LatencyModelOpt = None,
           host: HostOpt = None, identity: IdentityOpt = None, ssh_config: SshConfigOpt = None,
           remote_python: RemotePythonOpt = None, threads: ThreadsOpt = 1, warmup: WarmupOpt = 5,
           join: JoinOpt = False):
    """Search a space of pass settings for the best configuration under budgets; resumable. Latency: timed here,
    on --host, or predicted by --latency-model (both: ranked by the model, the front confirmed on the device)."""
    from archc.cli import render_search

    request = calls.Search(source(spec, None, None, var), space, tuple(objective), out, tuple(budget or ()), sampler,
                           trials, train, data, storage, seed, runs, runtime, build, executor, address, jobs, warmup,
                           threads, latency_model, device(host, identity, ssh_config, remote_python), join)
    outcome = calls.search(request, hooks())
    if json_:
        print(json.dumps({"winner": outcome.winner, "front": outcome.front, "trials": len(outcome.rows),
                          **{k: outcome.summary.get(k) for k in ("latency", "notes")}}))
    else:
        render_search.outcome(outcome, out)
