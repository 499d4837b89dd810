"""The workspace: every memory of the compiler, in one object that a call chain owns.

The core is pure: `lang.spec.load`, `ir.build.build`, `ir.analysis.analyze` and every pass are
plain functions of their inputs. What makes a sweep or a search fast is remembering their answers,
and all of it lives here, keyed by content (a Spec's `content_key`: equal keys, equal graphs):

    ws = Workspace()                       # the fast path (the default)
    spec = ws.load("specs/fastscnn.yaml")  # the parsed spec, by (file, text, variables)
    graph = ws.graph(spec)                 # built once; a refusal is remembered too
    new = ws.applied(p, spec)              # a pass's result, by (pass, spec content)
    Workspace(fast=False)                  # the same answers, every graph built in full

How a graph is made is a strategy: `FullBuild` runs the builder from nothing; `FastPath` keeps the
block templates (ir/templates.py), the parameter checks and row arguments already worked out, and
per structure (a spec's content but its input H x W) one graph built in full, which `ir/reshape.py`
redoes at another size. tests/test_fast_analysis.py and tests/test_templates.py compare the two.

Who owns one: `compile_spec` makes a fresh workspace per call unless given one; a sweep (and the
search, through its sweep) owns one for its whole run and hands it to its chunks. A workspace
travels to a worker process empty (pickling keeps only `fast`): its memory belongs to one process.
"""
from __future__ import annotations

import hashlib

from archc.errors import ArchcError, GraphError, SpecError
from archc.ir.build import Builder
from archc.ir.graph import Graph
from archc.ir.reshape import Rebuild, plan, reshapable, reshape
from archc.ir.templates import Templates
from archc.lang import yamlio
from archc.lang.spec import Spec, load

KEPT = 256  # graphs (and pass results, and known structures) a workspace keeps
SPECS_KEPT = 32  # parsed specs and documents


class Memo:
    """At most `size` values by key, least recently used dropped first (a dict's order is the LRU order)."""

    __slots__ = ("size", "items")

    def __init__(self, size: int):
        self.size, self.items = size, {}

    def get(self, key, default=None):
        value = self.items.pop(key, None)
        if value is None:
            return default
        self.items[key] = value  # (re)inserted last
        return value

    def __setitem__(self, key, value) -> None:
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.pop(next(iter(self.items)))

    def __len__(self) -> int:
        return len(self.items)


class FullBuild:
    """Every graph built from nothing by `ir.build.build`'s builder (no templates, no reshaping)."""

    fast = False

    def __init__(self):
        self.made = 0  # graphs built in full

    def make(self, spec: Spec) -> Graph:
        self.made += 1
        return Builder(spec).run()


class FastPath:
    """Block templates replayed, parameter checks and row arguments remembered, and a known structure
    reshaped to a new input size instead of built again; the answers are a full build's."""

    fast = True

    def __init__(self, kept: int = KEPT):
        self.templates = Templates()  # block expansions (ir/templates.py)
        self.checked: dict = {}  # parameter checks (ops.core.check_param)
        self.rows: dict = {}  # id(row) -> (weak ref to the row, vars, (width, blocks), resolved arguments)
        self.shapes = Memo(kept)  # (structure key, input channels) -> [graph built in full, its plan or None]
        self.made = 0  # graphs built in full (the rest were reshaped)

    def make(self, spec: Spec) -> Graph:
        shape_key = (spec.content_key[0], spec.input[0])
        known = self.shapes.get(shape_key)
        if known is not None:
            if known[1] is None:
                known[1] = plan(known[0])  # worked out when first reshaped: most structures never are
            try:
                return reshape(known[0], spec, known[1])
            except Rebuild:
                pass
        self.made += 1
        graph = Builder(spec, self).run()
        if reshapable(spec, graph):
            self.shapes[shape_key] = [graph, None]
        return graph


class Workspace:
    """The memories of one call chain (a compile, a sweep, a search); see the module's docstring."""

    def __init__(self, fast: bool = True, kept: int = KEPT):
        self.strategy = FastPath(kept) if fast else FullBuild()
        self.graphs = Memo(kept)  # spec content key -> Graph, or the refusal (GraphError, SpecError)
        self.results = Memo(kept)  # (pass, spec content key) -> the spec it gives
        self.specs = Memo(SPECS_KEPT)  # (file, text, variables) -> Spec
        self.documents = Memo(SPECS_KEPT)  # (file, text) -> the parsed, schema-checked document

    @property
    def fast(self) -> bool:
        return self.strategy.fast

    def __reduce__(self):
        return Workspace, (self.fast,)  # travels empty: its memory is this process's

    def load(self, path, variables: dict | None = None, text: str | None = None) -> Spec:
        """`lang.spec.load`, remembered by the file's name, text and the variables. A spec that imports
        others is decoded again when one of their texts changed."""
        text = yamlio.read_text(path) if text is None else text
        key = (str(path), text, repr(sorted((variables or {}).items())))
        spec = self.specs.get(key)
        if spec is None or not _imports_unchanged(spec):
            spec = load(path, variables, text, documents=self.documents)
        self.specs[key] = spec
        return spec

    def graph(self, spec: Spec) -> Graph:
        """`spec`'s graph (built once per content), or the refusal its build raises, raised again."""
        key = spec.content_key
        graph = self.graphs.get(key)
        if graph is None:
            try:
                graph = self.strategy.make(spec)
            except (GraphError, SpecError) as exc:
                graph = exc  # remembered too: a size search asks twice
            self.graphs[key] = graph
        if isinstance(graph, Exception):
            raise graph.with_traceback(None)
        return graph

    __call__ = graph

    def applied(self, p, spec: Spec) -> Spec:
        """`p.apply(spec, self.graph)`, remembered (a refusal is not: it raises again)."""
        try:
            key = (p, spec.content_key)
            new = self.results.get(key)
        except TypeError:  # a pass with an unhashable field
            return p.apply(spec, self.graph)
        if new is None:
            new = p.apply(spec, self.graph)
        self.results[key] = new
        return new


def _imports_unchanged(spec: Spec) -> bool:
    try:
        return all(hashlib.sha256(yamlio.read_text(f).encode()).hexdigest() == sha for f, sha in spec.sources[1:])
    except (ArchcError, OSError):
        return False  # load() says what is wrong with it
