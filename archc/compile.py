"""The pipeline, one named stage per line: load -> passes -> build -> analyze."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from .analysis import Report, analyze
from .build import build
from .ir import Graph
from .spec import Spec, load, parse_input


@dataclass(frozen=True)
class Compiled:
    spec: Spec  # after passes
    graph: Graph

    @cached_property
    def report(self) -> Report:
        return analyze(self.graph)


def compile_spec(path, passes=(), input=None, variables: dict | None = None, text: str | None = None) -> Compiled:
    """Load `path`, apply `passes` (pass strings or Pass objects) and build the IR."""
    spec = load(path, variables, text)  # read + schema-validate + decode
    if input is not None:  # --input CxHxW
        spec = replace(spec, input=parse_input(input))
    spec = apply_passes(spec, passes)  # Spec -> Spec rewrites, checked one by one
    graph = build(spec)  # expand rows and blocks, infer shapes
    return Compiled(spec, graph)


def apply_passes(spec: Spec, passes) -> Spec:
    if not passes:
        return spec
    from .passes import run_pipeline

    return run_pipeline(spec, passes)
