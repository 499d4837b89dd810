"""The pipeline, one named stage per line: load -> passes -> build -> analyze."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from archc.ir.analysis import Report, analyze
from archc.errors import PassError
from archc.ir.graph import Graph
from archc.ir.workspace import Workspace
from archc.lang.spec import Spec
from archc.passes import as_pass, run_pipeline


@dataclass(frozen=True)
class Compiled:
    spec: Spec  # after passes
    graph: Graph
    post: tuple = ()  # passes that act after lowering (quantize), in the order given
    notes: tuple = ()  # what the passes reported (convs left ungrouped, MAC changes)

    @cached_property
    def report(self) -> Report:
        return analyze(self.graph)

    @property
    def quantize(self):
        """The quantize pass, if one was given."""
        return next((p for p in self.post if p.name == "quantize"), None)


def compile_spec(path, passes=(), input=None, variables: dict | None = None, text: str | None = None,
                 workspace: Workspace | None = None) -> Compiled:
    """Load `path`, apply `passes` (pass strings or Pass objects) and build the IR.
    `input` (CxHxW) is the `input` pass, applied after the others so that a pass
    like drop=ppm can make a small input valid. `workspace`: where specs, pass results
    and graphs are remembered (a sweep or search passes its own; a fresh one when not given)."""
    ws = workspace if workspace is not None else Workspace()
    spec = ws.load(path, variables, text)  # read + schema-validate + decode
    passes = parse_passes(list(passes) + ([f"input={input},strict=false"] if input is not None else []))
    notes: list = []
    spec = apply_passes(spec, passes, notes, ws)  # Spec -> Spec rewrites, checked one by one
    graph = ws.graph(spec)  # expand rows and blocks, infer shapes
    return Compiled(spec, graph, post_passes(passes), tuple(notes))


def load_spec(path, variables: dict | None = None, text: str | None = None,
              workspace: Workspace | None = None) -> Spec:
    """`lang.spec.load`, remembered in `workspace` by the file's name, text and the variables."""
    return (workspace if workspace is not None else Workspace()).load(path, variables, text)


def parse_passes(passes) -> tuple:
    if not passes:
        return ()
    return tuple(as_pass(p) for p in passes)


def post_passes(passes) -> tuple:
    """The non-structural passes (carried to export); each name at most once."""
    post = tuple(p for p in passes if not p.structural)
    names = [p.name for p in post]
    for name in set(names):
        if names.count(name) > 1:
            raise PassError(f"pass '{name}' is given {names.count(name)} times; give it once")
    return post


def apply_passes(spec: Spec, passes, notes: list | None = None, workspace: Workspace | None = None) -> Spec:
    if not passes:
        return spec
    return run_pipeline(spec, passes, notes, workspace=workspace)
