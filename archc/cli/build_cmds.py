"""Commands that export and time: build and profile."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

import archc.app as calls
from archc.cli.app import (CalibOpt, InputOpt, JsonOpt, PassOpt, RecipeOpt, SpecArg, ThreadsOpt, VarOpt, app, boundary,
                           hooks, source)
from archc.cli.device_opts import HostOpt, IdentityOpt, PerLayerOpt, RemotePythonOpt, SshConfigOpt, device
from archc.cli.weights_opts import WeightsMapOpt, WeightsOpt


@app.command()
@boundary
def build(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
          out: Annotated[Path, typer.Option("--out", "-o", help="output directory")] = Path("out"),
          force: Annotated[bool, typer.Option(help="write into an existing directory not made by archc")] = False,
          recipe: RecipeOpt = None,
          dynamic_batch: Annotated[bool, typer.Option("--dynamic-batch",
                                                      help="ONNX input with a free batch size")] = False,
          dynamic_hw: Annotated[bool, typer.Option("--dynamic-hw",
                                                   help="free H/W: refused unless provably correct")] = False,
          calib: CalibOpt = None,
          profile: Annotated[bool, typer.Option("--profile",
                                                help="time the models; latency into summary.json")] = False,
          threads: ThreadsOpt = 1, runs: Annotated[int, typer.Option(help="timed runs per model")] = 30,
          warmup: Annotated[int, typer.Option(help="untimed runs first")] = 5,
          weights: WeightsOpt = None, weights_map: WeightsMapOpt = None,
          host: HostOpt = None, identity: IdentityOpt = None, ssh_config: SshConfigOpt = None,
          remote_python: RemotePythonOpt = None,
          simplifier: Annotated[Optional[str], typer.Option(help="onnxslim or onnxsim (default: onnxslim, see "
                                                            "benchmarks/simplifiers.md)")] = None,
          format_: Annotated[str, typer.Option("--format",
                                               help="onnx, tflite (LiteRT, archc[litert]) or all")] = "onnx"):
    """Compile SPEC (after passes) and write DIR/spec.yaml, DIR/summary.json and DIR/model.onnx
    (simplified and verified against PyTorch; with --pass quantize=MODE also DIR/model.MODE.onnx;
    with --format tflite|all DIR/model.tflite, and DIR/model.MODE.tflite, verified likewise)."""
    from archc.cli import render

    note = (f"written by archc build {spec}" + (f" --passes {recipe}" if recipe else "")
            + "".join(f" --pass {p}" for p in pass_ or []) + (f" --input {input}" if input else ""))
    request = calls.Build(source(spec, pass_, input, var, recipe), out, force, dynamic_batch, dynamic_hw, calib,
                          profile, calls.Timing(threads, runs, warmup), calls.Weights(weights, weights_map),
                          device(host, identity, ssh_config, remote_python), simplifier, note, format_)
    built = calls.build(request, hooks())
    render.totals(built.report)
    render.build(built.summary, out)


@app.command()
@boundary
def profile(target: Annotated[Path, typer.Argument(help="a spec, an .onnx model or a build folder (archc build --out)",
                                                   show_default=False)],
            pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
            runtime: Annotated[str, typer.Option(help="ort, torch, both, openvino, ncnn or litert")] = "ort",
            threads: ThreadsOpt = 1, runs: Annotated[int, typer.Option(help="timed runs per model")] = 50,
            warmup: Annotated[int, typer.Option(help="untimed runs first")] = 10,
            calib: CalibOpt = None, json_: JsonOpt = False, per_layer: PerLayerOpt = False,
            weights: WeightsOpt = None, weights_map: WeightsMapOpt = None,
            host: HostOpt = None, identity: IdentityOpt = None, ssh_config: SshConfigOpt = None,
            remote_python: RemotePythonOpt = None):
    """Latency in ONNX Runtime (CPU) and/or PyTorch eager: median, p90, mean, std, fps.
    Several models (float32 and quantized, or both runtimes) are timed with their runs interleaved."""
    from archc.cli import render

    request = calls.Profile(target, source(target, pass_, input, var), runtime, calls.Timing(threads, runs, warmup),
                            calib, calls.Weights(weights, weights_map),
                            device(host, identity, ssh_config, remote_python, per_layer))
    profiled = calls.profile(request, hooks(quiet_weights=json_))
    results = profiled.results
    for w in profiled.warnings:
        render.warning(w)
    if json_:
        print(json.dumps(results[0] if len(results) == 1 else results))
        return
    render.profiles(results)
    if per_layer:
        from archc.cli import render_latency

        for r in results:
            render_latency.per_layer(r)
