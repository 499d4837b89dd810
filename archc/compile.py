"""The pipeline, one named stage per line: load -> passes -> build -> analyze."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .analysis import Report, analyze
from .build import build
from .ir import Graph
from .spec import Spec, load


@dataclass(frozen=True)
class Compiled:
    spec: Spec  # after passes
    graph: Graph
    notes: tuple = ()  # what the passes reported (convs left ungrouped, MAC changes)

    @cached_property
    def report(self) -> Report:
        return analyze(self.graph)


def compile_spec(path, passes=(), input=None, variables: dict | None = None, text: str | None = None) -> Compiled:
    """Load `path`, apply `passes` (pass strings or Pass objects) and build the IR.
    `input` (CxHxW) is the `input` pass, applied after the others so that a pass
    like drop=ppm can make a small input valid."""
    spec = load(path, variables, text)  # read + schema-validate + decode
    passes = list(passes) + ([f"input={input}"] if input is not None else [])  # --input CxHxW
    notes: list = []
    spec = apply_passes(spec, passes, notes)  # Spec -> Spec rewrites, checked one by one
    graph = build(spec)  # expand rows and blocks, infer shapes
    return Compiled(spec, graph, tuple(notes))


def apply_passes(spec: Spec, passes, notes: list | None = None) -> Spec:
    if not passes:
        return spec
    from .passes import run_pipeline

    return run_pipeline(spec, passes, notes)
