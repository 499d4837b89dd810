"""Commands about latency beyond `profile`: benchmark (every runtime) and latency fit (a latency model)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

import archc.app as calls
from archc.cli.app import InputOpt, JsonOpt, PassOpt, SpecArg, ThreadsOpt, VarOpt, app, boundary, hooks, source
from archc.cli.device_opts import HostOpt, IdentityOpt, RemotePythonOpt, SshConfigOpt, device

RunsOpt = Annotated[int, typer.Option(help="timed runs per runtime")]
WarmupOpt = Annotated[int, typer.Option(help="untimed runs first")]


@app.command()
@boundary
def benchmark(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
              threads: ThreadsOpt = 1, runs: RunsOpt = 30, warmup: WarmupOpt = 5, json_: JsonOpt = False):
    """Build SPEC once and time it in every installed runtime (ONNX Runtime, PyTorch, OpenVINO, ncnn),
    each verified against PyTorch first: size, median latency, max difference, ratio to ORT."""
    from archc.cli import render_latency

    rows = calls.benchmark(calls.Benchmark(source(spec, pass_, input, var), calls.Timing(threads, runs, warmup)),
                           hooks())
    if json_:
        print(json.dumps(rows))
        return
    render_latency.benchmark(rows)


latency_app = typer.Typer(no_args_is_help=True, help="Latency models: fit per-op costs on a device, then predict.")
app.add_typer(latency_app, name="latency")


@latency_app.command("fit")
@boundary
def latency_fit(spec: SpecArg,
                out: Annotated[Path, typer.Option("--out", "-o", help="the model file to write (JSON)")],
                grid: Annotated[Optional[List[str]], typer.Option(
                    "--grid", "-g", help="probe configurations, as in sweep [width=1,0.5,0.25,0.125 "
                                         "input=3x512x512,3x384x384,3x256x256,3x192x192]")] = None,
                var: VarOpt = None, threads: ThreadsOpt = 1, runs: RunsOpt = 20, warmup: WarmupOpt = 5,
                host: HostOpt = None, identity: IdentityOpt = None, ssh_config: SshConfigOpt = None,
                remote_python: RemotePythonOpt = None, jobs: Annotated[int, typer.Option(help="export workers")] = 0):
    """Profile probe configurations of SPEC per layer (here or on --host) and fit per-op-kind costs
    (per layer, per MAC, per byte moved); `--latency-model MODEL.json` on summary and sweep predicts with it."""
    from archc.cli import render, render_latency

    request = calls.LatencyFit(source(spec, None, None, var), out, tuple(grid or ()),
                               calls.Timing(threads, runs, warmup), device(host, identity, ssh_config, remote_python),
                               jobs)
    render_latency.fitted(calls.latency_fit(request, hooks()), out)
    render.message(f"wrote {out}")
