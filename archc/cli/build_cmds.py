"""Commands that export and time: build and profile."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from archc.cli.app import (CalibOpt, InputOpt, JsonOpt, PassOpt, RecipeOpt, SpecArg, ThreadsOpt, VarOpt, _compile,
                           app, boundary)
from archc.cli.weights_opts import WeightsMapOpt, WeightsOpt, original_of, with_weights
from archc.cli.device_opts import HostOpt, IdentityOpt, PerLayerOpt, RemotePythonOpt, SshConfigOpt, target as _target
from archc.errors import ArchcError
from archc.lang.library import resolve_spec


@app.command()
@boundary
def build(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
          out: Annotated[Path, typer.Option("--out", "-o", help="output directory")] = Path("out"),
          force: Annotated[bool, typer.Option(help="write into an existing directory not made by archc")] = False,
          recipe: RecipeOpt = None,
          dynamic_batch: Annotated[bool, typer.Option("--dynamic-batch", help="ONNX input with a free batch size")] = False,
          dynamic_hw: Annotated[bool, typer.Option("--dynamic-hw", help="free H/W: refused unless provably correct")] = False,
          calib: CalibOpt = None,
          profile: Annotated[bool, typer.Option("--profile", help="time the models; latency into summary.json")] = False,
          threads: ThreadsOpt = 1, runs: Annotated[int, typer.Option(help="timed runs per model")] = 30,
          warmup: Annotated[int, typer.Option(help="untimed runs first")] = 5,
          weights: WeightsOpt = None, weights_map: WeightsMapOpt = None,
          host: HostOpt = None, identity: IdentityOpt = None, ssh_config: SshConfigOpt = None,
          remote_python: RemotePythonOpt = None,
          simplifier: Annotated[Optional[str], typer.Option(help="onnxslim or onnxsim (default: onnxslim, see "
                                                            "benchmarks/simplifiers.md)")] = None,
          format_: Annotated[str, typer.Option("--format", help="onnx, tflite (LiteRT, archc[litert]) or all")] = "onnx"):
    """Compile SPEC (after passes) and write DIR/spec.yaml, DIR/summary.json and DIR/model.onnx
    (simplified and verified against PyTorch; with --pass quantize=MODE also DIR/model.MODE.onnx;
    with --format tflite|all DIR/model.tflite, and DIR/model.MODE.tflite, verified likewise)."""
    from archc.cli import render
    from archc.deploy.artifacts import BuildOptions, write_build
    from archc.deploy.tflite import formats
    from archc.measure.profile import check_threads
    from archc.onnx.verify import check_simplifier

    formats_ = formats(format_)
    check_threads(threads)
    check_simplifier(simplifier)
    c = _compile(spec, pass_, input, var, recipe)
    note = (f"written by archc build {spec}" + (f" --passes {recipe}" if recipe else "")
            + "".join(f" --pass {p}" for p in pass_ or []) + (f" --input {input}" if input else ""))
    original = original_of(spec, pass_, recipe, var) if weights else None  # weights for the spec before passes
    state, _ = with_weights(c, weights, weights_map, original=original)  # paired before anything is written
    options = BuildOptions(dynamic_batch, dynamic_hw, calib, profile, threads, warmup, runs, render.progress,
                           simplifier, weights=state, target=_target(host, identity, ssh_config, remote_python),
                           formats=formats_)
    summary = write_build(c, out, force, note, options)
    render.totals(c.report)
    render.build(summary, out)


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
    from archc.deploy.artifacts import BuildOptions
    from archc.deploy.artifacts import profile_target

    built = target.suffix in (".onnx", ".tflite") or target.is_dir()  # a model, or a build folder: timed as it is
    target = target if built else resolve_spec(target)
    if built and (pass_ or input or var or weights):
        raise ArchcError(f"{target}: --pass, --input, --var and --weights apply to a spec, not to a built model")
    compiled = None if built else _compile(target, pass_, input, var)
    original = original_of(target, pass_, None, var) if compiled is not None and weights else None
    state = with_weights(compiled, weights, weights_map, json_, original)[0] if compiled is not None else None
    options = BuildOptions(calib=calib, threads=threads, warmup=warmup, runs=runs, progress=render.progress,
                           weights=state, target=_target(host, identity, ssh_config, remote_python, per_layer))
    results, warnings = profile_target(target, compiled, runtime, options)
    for w in warnings:
        render.warning(w)
    if json_:
        print(json.dumps(results[0] if len(results) == 1 else results))
        return
    render.profiles(results)
    if per_layer:
        from archc.cli import render_latency

        for r in results:
            render_latency.per_layer(r)
