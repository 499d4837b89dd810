"""Builds: graphs already built, remembered by the content of their Spec."""
from __future__ import annotations

from archc.errors import GraphError, SpecError
from archc.ir.build import build
from archc.ir.graph import Graph
from archc.lang.spec import Spec


class Builds:
    """Graphs already built, keyed by the Spec's content (its repr: every field, marks
    included), so a pass checking what it made and the pipeline checking it again build
    once. One is made per pipeline (or per sweep worker) and handed to whatever builds.

        builds = Builds(); graph = builds(spec)   # builds(spec) again: the same graph
    """

    def __init__(self, size: int = 64):
        self.size, self.graphs, self.made = size, {}, 0

    def __call__(self, spec: Spec) -> Graph:
        key = repr(spec)
        graph = self.graphs.pop(key, None)
        if graph is None:
            self.made += 1
            try:
                graph = build(spec)
            except (GraphError, SpecError) as exc:
                graph = exc  # a refusal is remembered too: size searches ask twice
        self.graphs[key] = graph  # (re)inserted last: the dict's order is the LRU order
        if len(self.graphs) > self.size:
            self.graphs.pop(next(iter(self.graphs)))
        if isinstance(graph, Exception):
            raise graph.with_traceback(None)
        return graph
