"""The commands that read a spec and report: validate, summary, graph, explain, diff, ops, passes, specs."""
from __future__ import annotations

from dataclasses import dataclass

from archc.app import requests as rq
from archc.app.common import compiled, from_run, paired
from archc.app.values import QUIET, Hooks
from archc.errors import ArchcError


@dataclass(frozen=True)
class Validated:
    spec: str
    primitives: int
    outputs: tuple  # output shapes


def validate(request: rq.Validate, hooks: Hooks = QUIET) -> Validated:
    """Check a spec: YAML, schema, ops, references and shapes (an ArchcError says what is wrong)."""
    from archc.app.values import Source

    c = compiled(Source(request.spec), hooks)
    return Validated(str(request.spec), len(c.graph) - 1, tuple(tuple(c.graph.shape(o)) for o in c.graph.outputs))


@dataclass(frozen=True)
class SummaryResult:
    report: object  # ir.analysis.Report
    weights: object = None  # torch.checkpoint.MappingReport, with Summary.weights
    latency: dict | None = None  # with Summary.latency_model: predicted_ms and where the model was fitted

    def to_json(self) -> dict:
        """The `summary --json` object."""
        return {**self.report.to_json(), **({"weights": self.weights.to_json()} if self.weights else {}),
                **({"latency_model": self.latency} if self.latency else {})}

    @property
    def shown_layers(self) -> list:
        """The layers a table lists: all but parameter-free ones of quiet ops (bn-less activations, ...)."""
        from archc.ops import OPS

        return [l for l in self.report.layers if not (OPS[l.op].quiet and not l.params)]


def summary(request: rq.Summary, hooks: Hooks = QUIET) -> SummaryResult:
    """Params, MACs and activation memory per layer and in total (torchinfo's semantics)."""
    source, weights = from_run(request.source, request.weights)  # a training run: its model and weights
    c = compiled(source, hooks)
    pair = paired(c, source, weights, hooks)
    latency = predict(request.latency_model, c.graph) if request.latency_model else None
    return SummaryResult(c.report, pair.report if pair else None, latency)


def predict(model_file, graph) -> dict:
    """What summary --json and sweep add: the predicted ms and where the model was fitted."""
    from archc.measure.latency_model import load

    model = load(model_file)
    return {"file": str(model_file), "device": model.meta.get("device"), "threads": model.meta.get("threads"),
            "predicted_ms": round(model.predict(graph), 4)}


@dataclass(frozen=True)
class Drawn:
    text: str  # DOT or mermaid source
    format: str
    output: object = None  # the file written, if any


def graph(request: rq.Graph, hooks: Hooks = QUIET) -> Drawn:
    """The network drawn: stages as clusters, blocks as nodes (or expanded), shapes on edges; written to
    request.output (png and svg through Graphviz) when given."""
    from archc.app.outputs import graph_format
    from archc.fs import atomic_file
    from archc.reports import draw

    fmt = graph_format(request.output, request.format)
    g = compiled(request.source, hooks).graph
    text = draw.to_mermaid(g, request.expand) if fmt == "mermaid" else draw.to_dot(g, request.expand)
    if request.output is not None:
        with atomic_file(request.output) as tmp:
            if fmt in ("png", "svg"):
                draw.render(text, fmt, tmp)
            else:
                tmp.write_text(text)
    return Drawn(text, fmt, request.output)


def explain(request: rq.Explain, hooks: Hooks = QUIET) -> str:
    """The spec's tables as a paper prints them (Markdown), each block opened with its MAC formulas."""
    from archc.reports.explain import markdown

    c = compiled(request.source, hooks)
    return markdown(c, _layer_ms(c) if request.latency else None)


def _layer_ms(c) -> dict:
    """Layer name -> ms on this machine, from a per-layer profile of the built model."""
    from archc.deploy.artifacts import BuildOptions, profile_target
    from archc.measure.targets import Target

    results, _ = profile_target(c.spec.name, c, "ort", BuildOptions(target=Target(per_layer=True)))
    return {l["name"]: l["ms"] for l in results[0]["layers"]}


def diff(request: rq.Diff, hooks: Hooks = QUIET) -> dict:
    """The `diff --json` object: both sides' totals, per-stage figures and B - A."""
    from archc.reports.diff import diff as compare, side

    ca, cb = compiled(request.a, hooks), compiled(request.b, hooks)
    return compare(ca.report, cb.report, side(ca.report, request.a.spec, request.a.passes),
                   side(cb.report, request.b.spec, request.b.passes))


@dataclass(frozen=True)
class OpsResult:
    entries: list  # (name, kind, parameters, doc) of every op and block, when no name was asked
    detail: dict | None = None  # one op or block in full: name, kind, doc, params rows, inputs, body, example


def ops(request: rq.Ops = rq.Ops()) -> OpsResult:
    """The primitive ops and blocks a spec can use, or one of them in full."""
    from archc.errors import did_you_mean
    from archc.lang.blocks import stdlib
    from archc.ops import OPS

    if request.name is None:
        entries = [(o.name, "primitive", ", ".join(o.params), o.doc) for o in OPS.values()]
        return OpsResult(entries + [(b.name, "block", ", ".join(b.params), b.doc) for b in stdlib().values()])
    found = OPS.get(request.name) or stdlib().get(request.name)
    if found is None:
        known = sorted(OPS) + sorted(stdlib())
        raise ArchcError(f"archc ops {request.name}: no op or block '{request.name}'"
                         f"{did_you_mean(request.name, known)}; `archc ops` lists them")
    return OpsResult([], _detail(found, "primitive" if request.name in OPS else "block"))


def _detail(entry, kind: str) -> dict:
    from archc.ops import REQUIRED

    params = [(p.name, p.type, "(required)" if p.default is REQUIRED else repr(p.default),
               ", ".join(map(str, p.choices)) + (f" (also {', '.join(p.aliases)})" if p.aliases else ""), p.doc)
              for p in entry.params.values()]
    inputs = getattr(entry, "inputs", "1")
    return {"name": entry.name, "kind": kind, "doc": entry.doc, "params": params,
            "inputs": ", ".join(inputs) if isinstance(inputs, tuple) else str(inputs),
            "body": [str(step) for step in getattr(entry, "body", ())], "example": entry.example}


def passes() -> list:
    """(name, arguments, what it does, usage) of every pass (--pass NAME=VALUE, recipe files)."""
    from archc.passes import catalog

    return catalog()


def specs() -> list[dict]:
    """The bundled specs (`archc specs`): name, params, MACs, input, source citation and file."""
    from archc.compile import compile_spec
    from archc.lang.library import bundled, source

    out = []
    for name, path in bundled().items():
        c = compile_spec(path)
        out.append({"name": name, "params": c.report.params, "macs": c.report.macs, "input": list(c.report.input),
                    "source": source(c.spec.header), "file": str(path)})
    return out


def spec_reference(doc, check: bool = False) -> bool:
    """Regenerate docs/spec.md's op and block reference from the registries (True: it changed)."""
    from archc.lang.reference import refresh

    return refresh(doc, check)
