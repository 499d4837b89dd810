"""Reshape: a built graph's structure at another input size, without building again.

A spec whose blocks never read a spatial size (no `in_h`, `in_w`, `X_h`, `X_w` in any
expression) expands to the same nodes with the same attributes at every input of the
same channel count: only shapes (and what `bind` derives from them, a resize `to:` a
node) change. So the builder records, per primitive, its attributes before `bind`, its
inputs and references (`Graph.recipe`), and `reshape` redoes just bind, shape inference,
the stride rule and the weight-sharing check for each in order, raising the errors a full
build raises at the first node that does not fit. Exact by construction: every value that
can depend on the input size is recomputed by the same functions the builder calls.
"""
from __future__ import annotations

import re
from functools import lru_cache
from math import prod

from archc.errors import GraphError
from archc.ir.analysis import BYTES_PER_ELEMENT, parameter_counts
from archc.ir.graph import Graph, Node, check_input_stride
from archc.lang.blocks import stdlib_strings, strings_in
from archc.lang.spec import Spec
from archc.ops import OPS
from archc.ops.core import _no_weights, _unbound as _UNBOUND, place as default_place

class Rebuild(Exception):
    """The reshape cannot tell what a full build would do here: build instead."""


KEEPS_SHAPE = frozenset({"bn", "act", "identity"})  # ops whose shape rule is their input's shape, unchecked
SPATIAL = re.compile(r"\w_[hw]\b")  # in_h, in_w, x_h, ...: a block reading a spatial size


def reshapable(spec: Spec, graph: Graph) -> bool:
    """Whether `graph` (built from `spec`) holds at any input of its channel count by reshaping."""
    return graph.recipe is not None and not spec.grouping and _stdlib_free() and not _reads_size(spec.blocks)


class Reshaped(Graph):
    """A graph reshaped from a full one: its shapes (and the attributes a `bind` changed, the strides
    worked out again) beside the source's nodes. What a sweep asks of it (shapes, the total stride,
    an analysis) needs no Node objects; they are made, once, when something asks for the nodes."""

    def __init__(self, spec: Spec, source: Graph):  # not Graph.__init__: `nodes` is a property here
        self.name, self._g, self.input_shape = spec.name, None, tuple(spec.input)
        self.recipe, self.outputs, self.refs = source.recipe, [], {}
        self._source, self._shapes, self._attrs, self._strides = source, {}, {}, {}
        self._nodes, self._top = None, None  # the Node objects once made; the largest stride so far
        self._channels = True  # every node's channel count (and rank) is the source's
        self._totals = None  # params, MACs and activation bytes, from the source's parameter counts

    @property
    def nodes(self) -> dict:
        if self._nodes is None:
            self._nodes = {name: self._node(name) for name in self._shapes}
        return self._nodes

    def _node(self, name: str) -> Node:
        node = object.__new__(Node)  # the source's node with this graph's shape: Node(...) is the slow part
        d = node.__dict__
        d.update(self._source.nodes[name].__dict__)
        d["shape"] = self._shapes[name]
        if name in self._attrs:
            d["attrs"] = self._attrs[name]
        if name in self._strides:
            d["stride"] = self._strides[name]
        return node

    def __getitem__(self, name: str) -> Node:
        return self._nodes[name] if self._nodes is not None else self._node(name)

    def __contains__(self, name: str) -> bool:
        return name in self._shapes

    def __len__(self) -> int:
        return len(self._shapes)

    def shape(self, name: str) -> tuple:
        return self._shapes[name]

    def shapes(self) -> dict:
        return self._shapes

    def structure(self):
        if self._nodes is not None:
            return self._nodes.values()
        src, attrs = self._source.nodes, self._attrs
        return [src[name] if name not in attrs else self._node(name) for name in self._shapes]

    def total_stride(self) -> int:
        return int(round(self._top)) if self._top is not None else 1

    def totals(self):
        """Added up while reshaping from the source's parameter counts, when those are this graph's."""
        return self._totals if self.weights_like() is not None else None

    def weights_like(self):
        """The source, when the parameter counts must be its: an op's count reads only its attributes
        and its inputs' channel counts (tests/test_fast_analysis.py checks every op), and only
        weightless ops (resize, the input) had their attributes re-bound."""
        src = self._source.nodes
        if self._channels and all(OPS[src[n].op].count is _no_weights for n in self._attrs):
            return self._source
        return None


def reshape(source: Graph, spec: Spec, steps: list | None = None) -> Graph:
    """`source`'s nodes at `spec.input` (which differs from the source's only in H and W), with the
    analysis's totals added up on the way (valid when the source's parameter counts hold).
    `steps`: `plan(source)`, when the caller keeps it (a workspace's fast path does)."""
    graph = Reshaped(spec, source)
    shapes, bound, strides, params, macs, act = graph._shapes, graph._attrs, graph._strides, 0, 0, 0
    try:
        for name, op, spec_op, infer, bind, attrs, inputs, refs, mark, old, same_place, cost in steps or plan(source):
            try:
                if bind is not None:
                    attrs = bind(attrs, graph, inputs, refs) if op != "input" else {"shape": list(spec.input)}
                shape = shapes[inputs[0]] if infer is None else tuple(infer(attrs, [shapes[i] for i in inputs]))
            except GraphError as exc:
                raise GraphError(f"{name} ({op}): {exc.message}", mark) from None
            if old is None:  # a split: its parts follow as slice nodes of their own
                continue
            shapes[name], stride = shape, old.stride
            if shape[:1] != old.shape[:1] or len(shape) != len(old.shape):
                graph._channels = False
            if cost is not None:  # (weights, counted toward params, conv-like): analysis.analyze's sums
                params, macs, act = params + cost[1], macs + cost[0] * (prod(shape[1:]) if cost[2] else 1), \
                    act + 2 * BYTES_PER_ELEMENT * prod(shape)
            if attrs is not old.attrs and attrs != old.attrs:
                if old.share is not None:
                    raise Rebuild(name)  # whether it may still share is the builder's question (Builder._owner)
                bound[name], same_place = attrs, False
            if not same_place:  # the default stride rule reads only the inputs' strides and the attributes
                stride = strides[name] = spec_op.place(spec_op, attrs, graph, inputs, refs)
            if stride is not None and (graph._top is None or stride > graph._top):
                graph._top = stride
    except GraphError:
        check_input_stride(graph, spec, partial=True)  # the stride error comes first, as in a full build
        raise
    check_input_stride(graph, spec)
    graph.outputs, graph.refs, graph._totals = list(source.outputs), dict(source.refs), (params, macs, act)
    return graph


def plan(source: Graph) -> list:
    """The recipe with each op's functions looked up (the input's `bind` stands for its new shape):
    what `reshape` walks, the same for every size (a workspace keeps it with its source)."""
    steps, counted = [], parameter_counts(source)
    for node_name, name, op, attrs, inputs, refs, mark in source.recipe:
        spec_op = OPS[op]
        bind = None if spec_op.bind is _UNBOUND and op != "input" else spec_op.bind
        old = None if node_name is None else source.nodes[name]
        infer = None if op in KEEPS_SHAPE else spec_op.infer
        same_place, w = spec_op.place is default_place, counted.get(name)
        cost = (w, 0 if old.share else w, spec_op.conv_like) if w else None
        steps.append((name, op, spec_op, infer, bind, attrs, inputs, refs, mark, old, same_place, cost))
    return steps


@lru_cache(maxsize=1)
def _stdlib_free() -> bool:
    return not any(SPATIAL.search(text) for text in stdlib_strings())


def _reads_size(value) -> bool:
    """Whether any string anywhere in `value` names a spatial size (conservative: any match counts)."""
    return any(SPATIAL.search(text) for text in strings_in(value))
