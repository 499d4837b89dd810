"""The pipeline, one named stage per line: load -> passes -> build -> analyze."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from archc.ir.analysis import Report, analyze
from archc.ir.builds import Builds
from archc.errors import ArchcError, PassError
from archc.ir.graph import Graph
from archc.lang import yamlio
from archc.lang.spec import Spec, load
from archc.passes import as_pass, run_pipeline


_SPECS: dict = {}  # load_spec's memory: (file, text, variables) -> Spec


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


def compile_spec(path, passes=(), input=None, variables: dict | None = None, text: str | None = None) -> Compiled:
    """Load `path`, apply `passes` (pass strings or Pass objects) and build the IR.
    `input` (CxHxW) is the `input` pass, applied after the others so that a pass
    like drop=ppm can make a small input valid."""
    spec = load_spec(path, variables, text)  # read + schema-validate + decode
    passes = parse_passes(list(passes) + ([f"input={input},strict=false"] if input is not None else []))
    notes: list = []
    builds = Builds()  # the graphs this compile makes, by content: each spec is built once
    spec = apply_passes(spec, passes, notes, builds)  # Spec -> Spec rewrites, checked one by one
    graph = builds(spec)  # expand rows and blocks, infer shapes
    return Compiled(spec, graph, post_passes(passes), tuple(notes))


def load_spec(path, variables: dict | None = None, text: str | None = None) -> Spec:
    """`load`, remembered by the file's name, text and the variables (a Spec is a frozen value):
    a sweep or search compiles one file many times. A spec that imports others is decoded
    again when one of their texts changed."""
    text = yamlio.read_text(path) if text is None else text
    key = (str(path), text, repr(sorted((variables or {}).items())))
    spec = _SPECS.pop(key, None)
    if spec is None or not _imports_unchanged(spec):
        spec = load(path, variables, text)
    _SPECS[key] = spec  # (re)inserted last: least recently used first
    if len(_SPECS) > 32:
        _SPECS.pop(next(iter(_SPECS)))
    return spec


def _imports_unchanged(spec: Spec) -> bool:
    try:
        return all(hashlib.sha256(yamlio.read_text(f).encode()).hexdigest() == sha for f, sha in spec.sources[1:])
    except (ArchcError, OSError):
        return False  # load() says what is wrong with it


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


def apply_passes(spec: Spec, passes, notes: list | None = None, builds: Builds | None = None) -> Spec:
    if not passes:
        return spec
    return run_pipeline(spec, passes, notes, builds=builds)
