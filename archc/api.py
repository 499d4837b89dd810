"""The Python API: what the CLI does, callable from a notebook without private modules.

    import archc
    net = archc.compile("fastscnn", passes=["width=0.125"])   # a bundled spec's name, or a file
    net.params, net.macs                                      # (25367, 23689328)
    module = net.module()                                     # the torch.nn.Module (imports torch)
    build = net.export("out/fastscnn")                        # = archc build fastscnn --out out/fastscnn

Every command of the CLI is one call here, over the same request value the CLI builds (archc/app/):

    from archc.api import Source, Sweep, sweep
    swept = sweep(Sweep(Source("fastscnn"), grid=("width=1,0.5,0.25",)))   # = archc sweep fastscnn -g ...

docs/api.md has the whole tour, run by tests/test_api.py.

torch and ONNX Runtime are imported by the methods that need them, so `import archc` and
`archc.compile(...).summary()` stay light.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from archc.app import (QUIET, Benchmark, Build, Device, Diff, Eval, Explain, Graph, Hooks,  # noqa: F401
                       LatencyFit, Ops, Pareto, Predict, Profile, QuantizeReport, Search, Source, Summary, Sweep, Synth,
                       Timing, Train, Validate, Weights)
from archc.app.exporting import benchmark, build, devices, latency_fit, profile, quantize_report  # noqa: F401
from archc.app.reading import diff, explain, graph, ops, passes, spec_reference, specs, summary, validate  # noqa: F401
from archc.app.searching import search  # noqa: F401
from archc.app.sweeping import pareto, sweep  # noqa: F401
from archc.app.training import evaluate, predict_masks, synth, train  # noqa: F401



def report(request, hooks=QUIET):
    """`archc report`: one self-contained HTML page (archc.app.report.ReportRequest in, ReportResult out)."""
    import importlib

    return importlib.import_module("archc.app.report").report(request)


def __getattr__(name: str):
    """ReportRequest and ReportResult load the report's stage only when named."""
    if name in ("ReportRequest", "ReportResult"):
        import importlib

        return getattr(importlib.import_module("archc.app.report"), name)
    raise AttributeError(f"module 'archc.api' has no attribute '{name}'")


# every CLI command -> its call here (tests/test_app_surface.py checks that none is missing)
COMMANDS = {
    "validate": validate, "summary": summary, "ops": ops, "graph": graph, "explain": explain, "passes": passes,
    "diff": diff, "build": build, "profile": profile, "sweep": sweep, "pareto": pareto, "data synth": synth,
    "train": train, "eval": evaluate, "benchmark": benchmark, "latency fit": latency_fit, "search": search,
    "specs": specs, "spec-reference": spec_reference, "predict": predict_masks, "report": report, "devices": devices,
    "quantize-report": quantize_report,
}


@dataclass(frozen=True)
class Model:
    """A compiled spec: the transformed spec, its graph IR and its analysis, with the CLI's actions."""

    compiled: object  # archc.compile.Compiled
    spec_file: str
    passes: tuple = field(default=())

    @property
    def name(self) -> str:
        return self.compiled.graph.name

    @property
    def params(self) -> int:
        return self.compiled.report.params

    @property
    def macs(self) -> int:
        return self.compiled.report.macs

    @property
    def input(self) -> tuple:
        return tuple(self.compiled.graph.input_shape)

    @property
    def outputs(self) -> list:
        return [list(s) for s in self.compiled.report.outputs]

    def summary(self) -> dict:
        """The `archc summary --json` object: totals and one entry per layer."""
        return self.compiled.report.to_json()

    def module(self, seed: int = 0):
        """The `torch.nn.Module` (a torch.fx GraphModule); module paths are the spec's node names. Its
        weights are torch's default initialisation drawn from `seed`, not the build's seeded weights
        (archc.torch.weights.lower_seeded, which also sets batch-norm statistics): under the default, some
        networks' outputs are almost constant, so compare runtimes on the build's or trained weights."""
        from archc.torch.lower import lower

        return lower(self.compiled.graph, seed)

    def export(self, out, force: bool = False, **options) -> dict:
        """`archc build --out OUT`: spec.yaml, summary.json, model.onnx (simplified, verified), and with a
        quantize pass the quantized model; returns summary.json's content. `options` are BuildOptions'
        fields (calib, dynamic_batch, profile, threads, runs, warmup)."""
        from archc.deploy.artifacts import BuildOptions, write_build

        note = f"written by archc.compile({self.spec_file!r}, passes={list(self.passes)!r}).export()"
        return write_build(self.compiled, Path(out), force, note, BuildOptions(**options))

    def profile(self, runtime: str = "ort", runs: int = 50, warmup: int = 10, threads: int = 1) -> list[dict]:
        """`archc profile`: latency figures (the `profile --json` contract), one dict per model timed."""
        from archc.deploy.artifacts import BuildOptions, profile_target

        options = BuildOptions(threads=threads, warmup=warmup, runs=runs)
        return profile_target(self.spec_file, self.compiled, runtime, options)[0]

    def diff(self, other: Model) -> dict:
        """`archc diff --json`: both sides' totals, per-stage figures and B - A (self is A)."""
        from archc.reports.diff import diff, side

        a, b = self.compiled.report, other.compiled.report
        return diff(a, b, side(a, self.spec_file, self.passes), side(b, other.spec_file, other.passes))

    def to_yaml(self) -> str:
        """The transformed spec as YAML; compiling it again gives the same graph, params and MACs."""
        from archc.lang.emit import emit

        return emit(self.compiled.spec)

    def explain(self) -> str:
        """`archc explain --markdown`: the tables as the paper prints them, blocks opened with MAC formulas."""
        from archc.reports.explain import markdown

        return markdown(self.compiled)

    def graph(self, format: str = "dot", expand: bool = False) -> str:
        """`archc graph` text: Graphviz DOT or mermaid."""
        from archc.reports import draw

        return draw.to_mermaid(self.compiled.graph, expand) if format == "mermaid" else draw.to_dot(
            self.compiled.graph, expand)


def compile(spec, passes=(), input: str | None = None, variables: dict | None = None, recipe=None) -> Model:
    """Compile a spec file or bundled spec name after `passes` ("width=0.5" strings, as after --pass),
    at `input` (CxHxW), with spec `variables` ({"classes": 19}) and an optional recipe file's passes first."""
    from archc.compile import compile_spec
    from archc.lang.library import resolve_spec
    from archc.passes import load_recipe

    pipeline = (load_recipe(recipe) if recipe is not None else []) + list(passes)
    path = resolve_spec(spec)
    return Model(compile_spec(path, pipeline, input, dict(variables or {})), str(path), tuple(map(str, pipeline)))



def fit_device(spec, measurements, out=None, variables: dict | None = None) -> dict:
    """A device latency model from end-to-end timings (`archc latency fit SPEC --measurements FILE.csv`):
    the model's JSON (its "fit" holds the leave-one-out error) and "unsupported" (why the rows cannot
    support it; empty when they can). Written to `out` when given."""
    from archc.app.exporting import fit_device as fit

    return fit(Source(spec, variables=dict(variables or {})), measurements, out)
