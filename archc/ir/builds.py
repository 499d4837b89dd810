"""Builds: graphs already built, remembered by the content of their Spec.

A graph is a value (passes rewrite specs, never graphs), so graphs are shared:
- one `Builds` per pipeline (or sweep worker) also remembers refusals, as a size search asks twice;
- the process remembers the last graphs built (`_GRAPHS`, by the spec's whole content), and per
  structure (the spec's content but its input size) one graph built in full, whose recipe
  `ir/reshape.py` redoes at another H x W instead of building again (`_SHAPES`).
"""
from __future__ import annotations

from dataclasses import replace

from archc.errors import GraphError, SpecError
from archc.ir.build import build
from archc.ir.graph import Graph
from archc.ir.reshape import Rebuild, reshapable, reshape
from archc.lang.spec import Spec, Stage

KEPT = 256  # graphs the process keeps in each of _GRAPHS and _SHAPES
_GRAPHS: dict = {}  # spec_key -> Graph, least recently used first
_SHAPES: dict = {}  # (structure key, input channels) -> a Graph built in full from such a spec


class Builds:
    """Graphs already built, keyed by the Spec's content (its repr: every field, marks
    included), so a pass checking what it made and the pipeline checking it again build
    once. One is made per pipeline (or per sweep worker) and handed to whatever builds.

        builds = Builds(); graph = builds(spec)   # builds(spec) again: the same graph
    """

    def __init__(self, size: int = 64):
        self.size, self.graphs, self.made = size, {}, 0

    def __call__(self, spec: Spec) -> Graph:
        key = spec_key(spec)
        graph = self.graphs.pop(key, None)
        if graph is None:
            graph = _recall(_GRAPHS, key)
        if graph is None:
            self.made += 1
            try:
                graph = _make(spec, key)
            except (GraphError, SpecError) as exc:
                graph = exc  # a refusal is remembered too: size searches ask twice
        _keep(self.graphs, key, graph, self.size)
        if isinstance(graph, Exception):
            raise graph.with_traceback(None)
        return graph


def _make(spec: Spec, key: tuple) -> Graph:
    shape_key = (key[0], spec.input[0])
    source = _recall(_SHAPES, shape_key)
    graph = None
    if source is not None:
        try:
            graph = reshape(source, spec)
        except Rebuild:
            graph = None
    if graph is None:
        graph = build(spec)
        if reshapable(spec, graph):
            _keep(_SHAPES, shape_key, graph, KEPT)
    _keep(_GRAPHS, key, graph, KEPT)
    return graph


def _recall(store: dict, key):
    graph = store.pop(key, None)
    if graph is not None:
        store[key] = graph  # (re)inserted last: the dict's order is the LRU order
    return graph


def _keep(store: dict, key, graph, size: int) -> None:
    store[key] = graph
    if len(store) > size:
        store.pop(next(iter(store)))


def spec_key(spec: Spec) -> tuple:
    """(the spec's content but its input, its input): the repr of every field, marks included.
    Worked out once per Spec object (they are frozen), each stage's part once per Stage."""
    key = spec.__dict__.get("_key")
    if key is None:
        rest = tuple(repr(getattr(spec, f)) for f in spec.__dataclass_fields__ if f not in ("input", "stages"))
        key = ((tuple(_stage_key(st) for st in spec.stages), rest), spec.input)
        object.__setattr__(spec, "_key", key)
    return key


def at_input(spec: Spec, chw: tuple) -> Spec:
    """`replace(spec, input=chw)`, its key made from `spec`'s (only the input differs): a size search
    asks for many inputs of one structure."""
    new = replace(spec, input=tuple(chw))
    object.__setattr__(new, "_key", (spec_key(spec)[0], new.input))
    return new


def _stage_key(stage: Stage) -> tuple:
    """The stage's fields' reprs, each row's worked out once per Row object (a pass that changes
    one row shares the others: their reprs were most of a new stage's key)."""
    key = stage.__dict__.get("_key")
    if key is None:
        key = (tuple(repr(getattr(stage, f)) for f in stage.__dataclass_fields__ if f != "rows"),
               tuple(_row_key(row) for row in stage.rows))
        object.__setattr__(stage, "_key", key)
    return key


def _row_key(row) -> str:
    key = row.__dict__.get("_key")
    if key is None:
        key = repr(row)
        object.__setattr__(row, "_key", key)
    return key
