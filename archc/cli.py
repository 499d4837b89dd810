"""The command line: a thin shell over the Python API. Known errors become one
`archc: error:` line and exit code 2 here, at exactly one boundary."""
from __future__ import annotations

import json
import sys
import traceback
from functools import wraps
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from .errors import ArchcError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="archc: compile YAML op-table specs of vision networks to graphs, PyTorch and ONNX.")
STATE = {"debug": False}

SpecArg = Annotated[Path, typer.Argument(help="the spec file (specs/*.yaml)", show_default=False)]
PassOpt = Annotated[Optional[List[str]], typer.Option("--pass", "-p", help="NAME=VALUE[,KEY=VALUE...], repeatable")]
InputOpt = Annotated[Optional[str], typer.Option("--input", help="input size CxHxW, e.g. 3x512x512")]
VarOpt = Annotated[Optional[List[str]], typer.Option("--var", help="NAME=VALUE: set a spec variable")]
JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON object on stdout")]


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False):
    STATE["debug"] = debug


def boundary(fn):
    """Turn ArchcError into one line + exit 2; anything else is our bug: exit 1."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ArchcError as exc:
            if STATE["debug"]:
                traceback.print_exc()
            print(f"archc: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            print("archc: error: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the bug boundary
            if STATE["debug"]:
                traceback.print_exc()
            print(f"archc: internal error: {type(exc).__name__}: {exc} (a bug in archc; rerun with --debug "
                  f"for the traceback)", file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper


def parse_vars(items) -> dict:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ArchcError(f"--var {item}: expected NAME=VALUE, e.g. --var classes=19")
        out[name.strip()] = _literal(value.strip())
    return out


def _literal(text: str):
    import yaml

    try:
        return yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        return text


def _compile(spec, passes, input_, var):
    from .compile import compile_spec

    return compile_spec(spec, passes or (), input_, parse_vars(var))


@app.command()
@boundary
def validate(spec: SpecArg):
    """Check a spec: YAML, schema, ops, references and shapes."""
    c = _compile(spec, (), None, None)
    from . import render

    render.message(f"{spec}: ok ({len(c.graph) - 1} primitives, output "
                   f"{', '.join(render.shape(c.graph.shape(o)) for o in c.graph.outputs)})")


@app.command()
@boundary
def summary(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None, json_: JsonOpt = False,
            layers: Annotated[bool, typer.Option(help="list every layer")] = True):
    """Params, MACs and activation memory per layer and in total (torchinfo's semantics)."""
    report = _compile(spec, pass_, input, var).report
    if json_:
        print(json.dumps(report.to_json()))
        return
    from . import render

    render.summary(report, layers)


ThreadsOpt = Annotated[int, typer.Option("--threads", help="CPU threads for timing (1 is the most stable)")]
CalibOpt = Annotated[Optional[Path], typer.Option("--calib", help="folder of calibration images for quantize=int8")]


@app.command()
@boundary
def build(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
          out: Annotated[Path, typer.Option("--out", "-o", help="output directory")] = Path("out"),
          force: Annotated[bool, typer.Option(help="write into an existing directory not made by archc")] = False,
          dynamic_batch: Annotated[bool, typer.Option("--dynamic-batch", help="ONNX input with a free batch size")] = False,
          dynamic_hw: Annotated[bool, typer.Option("--dynamic-hw", help="free H/W: refused unless provably correct")] = False,
          calib: CalibOpt = None,
          profile: Annotated[bool, typer.Option("--profile", help="time the models; latency into summary.json")] = False,
          threads: ThreadsOpt = 1, runs: Annotated[int, typer.Option(help="timed runs per model")] = 30,
          warmup: Annotated[int, typer.Option(help="untimed runs first")] = 5):
    """Compile SPEC (after passes) and write DIR/spec.yaml, DIR/summary.json and DIR/model.onnx
    (simplified and verified against PyTorch; with --pass quantize=MODE also DIR/model.MODE.onnx)."""
    from . import render
    from .artifacts import BuildOptions, write_build
    from .profile import check_threads

    check_threads(threads)
    c = _compile(spec, pass_, input, var)
    note = f"written by archc build {spec}" + "".join(f" --pass {p}" for p in pass_ or [])
    options = BuildOptions(dynamic_batch, dynamic_hw, calib, profile, threads, warmup, runs, render.progress)
    summary = write_build(c, out, force, note, options)
    render.totals(c.report)
    render.build(summary, out)


@app.command()
@boundary
def profile(target: Annotated[Path, typer.Argument(help="a spec, or an .onnx model", show_default=False)],
            pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
            runtime: Annotated[str, typer.Option(help="ort, torch or both")] = "ort",
            threads: ThreadsOpt = 1, runs: Annotated[int, typer.Option(help="timed runs per model")] = 50,
            warmup: Annotated[int, typer.Option(help="untimed runs first")] = 10,
            calib: CalibOpt = None, json_: JsonOpt = False):
    """Latency in ONNX Runtime (CPU) and/or PyTorch eager: median, p90, mean, std, fps.
    Several models (float32 and quantized, or both runtimes) are timed with their runs interleaved."""
    from . import render
    from .artifacts import BuildOptions
    from .profile import profile_target

    options = BuildOptions(calib=calib, threads=threads, warmup=warmup, runs=runs, progress=render.progress)
    compiled = None if target.suffix == ".onnx" else _compile(target, pass_, input, var)
    if compiled is None and (pass_ or input or var):
        raise ArchcError(f"{target}: --pass, --input and --var apply to a spec, not to an .onnx model")
    results, warnings = profile_target(target, compiled, runtime, options)
    for w in warnings:
        render.warning(w)
    if json_:
        print(json.dumps(results[0] if len(results) == 1 else results))
        return
    render.profiles(results)


@app.command()
@boundary
def ops():
    """List the primitive ops and blocks a spec can use."""
    from . import render
    from .blocks import stdlib
    from .ops import OPS

    entries = [(o.name, "primitive", ", ".join(o.params), o.doc) for o in OPS.values()]
    entries += [(b.name, "block", ", ".join(b.params), b.doc) for b in stdlib().values()]
    render.ops(entries)


def run():
    app()
