"""Commands about latency beyond `profile`: benchmark (every runtime) and latency fit (a latency model)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from archc.cli.app import InputOpt, JsonOpt, PassOpt, SpecArg, ThreadsOpt, VarOpt, _compile, app, boundary

RunsOpt = Annotated[int, typer.Option(help="timed runs per runtime")]
WarmupOpt = Annotated[int, typer.Option(help="untimed runs first")]


@app.command()
@boundary
def benchmark(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
              threads: ThreadsOpt = 1, runs: RunsOpt = 30, warmup: WarmupOpt = 5, json_: JsonOpt = False):
    """Build SPEC once and time it in every installed runtime (ONNX Runtime, PyTorch, OpenVINO, ncnn),
    each verified against PyTorch first: size, median latency, max difference, ratio to ORT."""
    from archc.cli import render, render_latency
    from archc.onnx.artifacts import BuildOptions
    from archc.onnx.benchmark import benchmark as run_benchmark
    from archc.onnx.profile import check_threads

    check_threads(threads)
    rows = run_benchmark(_compile(spec, pass_, input, var),
                         BuildOptions(threads=threads, warmup=warmup, runs=runs, progress=render.progress))
    if json_:
        print(json.dumps(rows))
        return
    render_latency.benchmark(rows)
