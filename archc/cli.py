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
RecipeOpt = Annotated[Optional[Path], typer.Option("--passes", help="a recipe file (passes/*.yaml), applied before --pass")]


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


def _compile(spec, passes, input_, var, recipe=None):
    from . import render
    from .compile import compile_spec

    c = compile_spec(spec, _pipeline(recipe, passes), input_, parse_vars(var))
    render.notes(c.notes)
    return c


def _pipeline(recipe, passes) -> list:
    """A recipe file's passes, then the --pass ones, in order."""
    if recipe is None:
        return list(passes or ())
    from .passes import load_recipe

    return load_recipe(recipe) + list(passes or ())


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
            layers: Annotated[bool, typer.Option(help="list every layer")] = True, recipe: RecipeOpt = None):
    """Params, MACs and activation memory per layer and in total (torchinfo's semantics)."""
    report = _compile(spec, pass_, input, var, recipe).report
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
          recipe: RecipeOpt = None,
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
    c = _compile(spec, pass_, input, var, recipe)
    note = (f"written by archc build {spec}" + (f" --passes {recipe}" if recipe else "")
            + "".join(f" --pass {p}" for p in pass_ or []) + (f" --input {input}" if input else ""))
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


@app.command()
@boundary
def graph(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
          format: Annotated[str, typer.Option("--format", "-f", help="dot, mermaid, png or svg")] = "dot",
          output: Annotated[Optional[Path], typer.Option("-o", "--output", help="file (default: stdout for text)")] = None,
          expand: Annotated[bool, typer.Option(help="draw every primitive, blocks as clusters")] = False):
    """Draw the network: stages as clusters, blocks as nodes (or expanded), shapes on edges."""
    from . import draw, render
    from .errors import ArchcError
    from .outputs import atomic_file

    if format not in ("dot", "mermaid", "png", "svg"):
        raise ArchcError(f"--format {format}: use dot, mermaid, png or svg")
    g = _compile(spec, pass_, input, var).graph
    text = draw.to_mermaid(g, expand) if format == "mermaid" else draw.to_dot(g, expand)
    if format in ("png", "svg"):
        target = output or Path(f"{g.name}.{format}")
        with atomic_file(target) as tmp:
            draw.render(text, format, tmp)
        render.message(f"wrote {target}")
    elif output:
        with atomic_file(output) as tmp:
            tmp.write_text(text)
    else:
        print(text, end="")


@app.command()
@boundary
def explain(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
            markdown: Annotated[bool, typer.Option("--markdown", help="print Markdown source")] = False):
    """The spec's tables as a paper prints them, each block expanded with its MAC formulas."""
    from . import render
    from .explain import markdown as explain_md

    render.markdown(explain_md(_compile(spec, pass_, input, var)), raw=markdown)


@app.command()
@boundary
def sweep(spec: SpecArg,
          grid: Annotated[List[str], typer.Option("--grid", "-g", help="NAME=V1,V2,... (a pass; `none` leaves it out)")],
          input: InputOpt = None, var: VarOpt = None,
          profile: Annotated[bool, typer.Option(help="also measure ONNX Runtime latency (one at a time)")] = False,
          out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write results.csv/json and a cache")] = None,
          jobs: Annotated[int, typer.Option(help="worker processes (0: all cores)")] = 0,
          plot: Annotated[Optional[str], typer.Option(help="X,Y: also draw DIR/pareto.png and .svg")] = None,
          json_: JsonOpt = False):
    """Analyse (and profile) every combination of pass settings; invalid ones are skipped with a reason."""
    import time

    from . import render
    from .sweep import Sweep, configurations, parse_grid, write_results

    grid_ = parse_grid(grid)
    sw = Sweep(str(spec), grid_, input, parse_vars(var), jobs)
    n = len(configurations(grid_)) * (2 if profile else 1)
    start = time.perf_counter()
    with render.progress(n, "sweep") as step:
        results = sw.run(out, {"runs": 30, "warmup": 5, "threads": 1} if profile else None, step)
    seconds = time.perf_counter() - start
    if out:
        write_results(results, out)
        if plot:
            _pareto(out / "results.csv", plot, None, out / "pareto")
    if json_:
        print(json.dumps([r.row() for r in results]))
    else:
        render.sweep(results, seconds, out)


def _pareto(results: Path, axes: str, quality, stem: Path, better: str | None = None):
    from . import pareto, render
    from .errors import ArchcError
    from .outputs import atomic_file

    x, sep, y = axes.partition(",")
    if not sep:
        raise ArchcError(f"--plot {axes}: expected X,Y columns, e.g. macs,fps")
    low = _directions(better)
    rows = pareto.load_rows(results)
    rows = pareto.join(rows, quality) if quality else rows
    with atomic_file(stem.with_suffix(".png")) as png, atomic_file(stem.with_suffix(".svg")) as svg:
        front = pareto.plot(rows, x.strip(), y.strip(), [(png, "png"), (svg, "svg")],
                            x_low=low[0], y_low=low[1])
    render.message(f"wrote {stem}.png and {stem}.svg: {len(front)} configurations on the frontier")


def _directions(better: str | None) -> tuple:
    """'low,high' -> (True, False): which end of each axis is better (None: by column name)."""
    from .errors import ArchcError

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


@app.command("passes")
@boundary
def passes_cmd():
    """List the passes (--pass NAME=VALUE, recipe files) with their arguments."""
    from . import render
    from .passes import catalog

    render.passes(catalog())


@app.command("diff")
@boundary
def diff_cmd(spec_a: SpecArg, spec_b: Annotated[Path, typer.Argument(help="the spec to compare with", show_default=False)],
             pass_a: Annotated[Optional[List[str]], typer.Option("--pass-a", help="a pass on side A, repeatable")] = None,
             pass_b: Annotated[Optional[List[str]], typer.Option("--pass-b", help="a pass on side B, repeatable")] = None,
             var: VarOpt = None, json_: JsonOpt = False):
    """Compare two specs (or one spec with and without passes): totals and per stage, with B - A."""
    from . import render
    from .diff import diff, side

    ca, cb = _compile(spec_a, pass_a, None, var), _compile(spec_b, pass_b, None, var)
    d = diff(ca.report, cb.report, side(ca.report, spec_a, pass_a or []), side(cb.report, spec_b, pass_b or []))
    if json_:
        print(json.dumps(d))
        return
    render.diff(d)


def run():
    app()
