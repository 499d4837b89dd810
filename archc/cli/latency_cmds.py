"""Commands about latency beyond `profile`: benchmark (every runtime) and latency fit (a latency model)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from archc.cli.app import InputOpt, JsonOpt, PassOpt, SpecArg, ThreadsOpt, VarOpt, _compile, app, boundary
from archc.cli.device_opts import HostOpt, IdentityOpt, RemotePythonOpt, SshConfigOpt, target as _target

RunsOpt = Annotated[int, typer.Option(help="timed runs per runtime")]
WarmupOpt = Annotated[int, typer.Option(help="untimed runs first")]


@app.command()
@boundary
def benchmark(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
              threads: ThreadsOpt = 1, runs: RunsOpt = 30, warmup: WarmupOpt = 5, json_: JsonOpt = False):
    """Build SPEC once and time it in every installed runtime (ONNX Runtime, PyTorch, OpenVINO, ncnn, LiteRT),
    each verified against PyTorch first: size, median latency, max difference, ratio to ORT; with
    --pass quantize=MODE the quantized models too. Names the fastest float32 runtime."""
    from archc.cli import render, render_latency
    from archc.deploy.artifacts import BuildOptions
    from archc.deploy.benchmark import benchmark as run_benchmark
    from archc.measure.profile import check_threads

    check_threads(threads)
    rows = run_benchmark(_compile(spec, pass_, input, var),
                         BuildOptions(threads=threads, warmup=warmup, runs=runs, progress=render.progress))
    if json_:
        print(json.dumps(rows))
        return
    render_latency.benchmark(rows)
    from archc.deploy.benchmark import recommend

    for line in recommend(rows):
        render.message(line)


latency_app = typer.Typer(no_args_is_help=True, help="Latency models: fit per-op costs on a device, then predict.")
app.add_typer(latency_app, name="latency")


@latency_app.command("fit")
@boundary
def latency_fit(spec: SpecArg,
                out: Annotated[Path, typer.Option("--out", "-o", help="the model file to write (JSON)")],
                grid: Annotated[Optional[List[str]], typer.Option("--grid", "-g", help="probe configurations, as "
                                "in sweep [width=1,0.5,0.25,0.125 input=3x512x512,3x384x384,3x256x256,3x192x192]")] = None,
                var: VarOpt = None, threads: ThreadsOpt = 1, runs: RunsOpt = 20, warmup: WarmupOpt = 5,
                host: HostOpt = None, identity: IdentityOpt = None, ssh_config: SshConfigOpt = None,
                remote_python: RemotePythonOpt = None, jobs: Annotated[int, typer.Option(help="export workers")] = 0):
    """Profile probe configurations of SPEC per layer (here or on --host) and fit per-op-kind costs
    (per layer, per MAC, per byte moved); `--latency-model MODEL.json` on summary and sweep predicts with it."""
    from archc.cli import render, render_latency
    from archc.cli.app import parse_vars
    from archc.measure.profile import check_threads
    from archc.sweep.latency_fit import fit_spec
    from archc.sweep.sweep import parse_grid

    check_threads(threads)
    model = fit_spec(spec, parse_grid(grid) if grid else None, _target(host, identity, ssh_config, remote_python),
                     out, threads=threads, warmup=warmup, runs=runs, variables=parse_vars(var), jobs=jobs,
                     progress=None)
    render_latency.fitted(model.to_json(), out)
    render.message(f"wrote {out}")
