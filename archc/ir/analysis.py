"""Analysis from the IR alone (no torch): params, MACs and activation bytes per
layer and in total, with torchinfo 1.8's semantics at batch 1:

- params: counted once per module, however often it is applied (shared weights);
- MACs: conv-like layers (weight + bias) x output H x W, other layers with
  parameters their parameter count, summed over every application;
- activation bytes: 2 x 4 bytes x output elements for every application of a
  layer that has parameters (forward + backward, float32).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from math import prod

from archc.ir.graph import Graph
from archc.ops import OPS

BYTES_PER_ELEMENT = 4


@dataclass(frozen=True)
class Layer:
    name: str
    op: str
    stage: str
    inputs: tuple
    out: tuple
    params: int  # counted toward the total (0 when the weights belong to another node)
    macs: int
    activation_bytes: int
    weights: int  # parameters the op uses, shared or not
    share: str | None = None


@dataclass(frozen=True, eq=False)
class Report:
    name: str
    input: tuple
    outputs: tuple
    params: int
    macs: int
    activation_bytes: int
    known_rows: tuple | None = field(default=None, repr=False)  # per layer: Layer's fields, inputs by name
    graph: Graph | None = field(default=None, repr=False)  # what was analysed (the rows come from it when asked)

    @cached_property
    def rows(self) -> tuple:
        """Per layer, Layer's fields in order with its inputs by name (worked out when first asked for
        where the totals came without a walk: a reshaped graph's)."""
        return self.known_rows if self.known_rows is not None else _walk(self.graph)[3]

    @cached_property
    def layers(self) -> tuple:
        """Per layer, in execution order (made when first asked for: a sweep reads only the totals)."""
        shapes = self.graph.shapes()
        return tuple([_layer(r[0], r[1], r[2], tuple([shapes[i] for i in r[3]]), *r[4:]) for r in self.rows])

    @cached_property
    def attention(self) -> dict:
        """Per node, the MACs torchinfo does not see (products of two activations: matmul), nonzero only."""
        return attention_macs(self.graph) if self.graph is not None else {}

    @property
    def macs_attention(self) -> int:
        return sum(self.attention.values())

    @property
    def macs_total(self) -> int:
        """torchinfo's MACs plus the attention products: what the network computes in multiply-adds."""
        return self.macs + self.macs_attention

    def _value(self) -> tuple:
        return self.name, self.input, self.outputs, self.params, self.macs, self.activation_bytes

    def __eq__(self, other) -> bool:
        return isinstance(other, Report) and self._value() == other._value() and self.rows == other.rows

    def __hash__(self) -> int:
        return hash(self._value())

    def stages(self) -> dict:
        """Per-stage totals, in order of first appearance."""
        out: dict = {}
        for layer in self.layers:
            s = out.setdefault(layer.stage, {"params": 0, "macs": 0, "activation_bytes": 0, "layers": 0})
            s["params"] += layer.params
            s["macs"] += layer.macs
            s["activation_bytes"] += layer.activation_bytes
            s["layers"] += 1
            s["macs_attention"] = s.get("macs_attention", 0) + self.attention.get(layer.name, 0)
            s["macs_total"] = s["macs"] + s["macs_attention"]
        return out

    def to_json(self) -> dict:
        """The `summary --json` contract (see DESIGN.md)."""
        return {
            "name": self.name, "input": list(self.input), "outputs": [list(s) for s in self.outputs],
            "params": self.params, "macs": self.macs, "activation_bytes": self.activation_bytes,
            "macs_attention": self.macs_attention, "macs_total": self.macs_total,
            "layers": [{"name": l.name, "op": l.op, "stage": l.stage, "in": [list(s) for s in l.inputs],
                        "out": list(l.out), "params": l.params, "macs": l.macs,
                        "activation_bytes": l.activation_bytes, **({"shares": l.share} if l.share else {}),
                        **({"macs_attention": self.attention[l.name]} if l.name in self.attention else {})}
                       for l in self.layers],
        }


def layer_cost(op_name: str, attrs: dict, in_shapes: list, out: tuple) -> tuple[int, int, int]:
    """(weights, MACs, activation bytes) of one application of an op, as torchinfo counts them."""
    op = OPS[op_name]
    weights = op.count(attrs, in_shapes)
    if not weights:
        return 0, 0, 0
    spatial = prod(out[1:]) if op.conv_like else 1
    return weights, weights * spatial, 2 * BYTES_PER_ELEMENT * prod(out)


def _layer(name, op, stage, inputs, out, params, macs, activation_bytes, weights, share) -> Layer:
    """Layer(...) without the frozen dataclass's field-by-field __init__ (it was half of analyze's time)."""
    layer = object.__new__(Layer)
    d = layer.__dict__
    d["name"], d["op"], d["stage"], d["inputs"], d["out"] = name, op, stage, inputs, out
    d["params"], d["macs"], d["activation_bytes"] = params, macs, activation_bytes
    d["weights"], d["share"] = weights, share
    return layer


def analyze(graph: Graph) -> Report:
    outputs = tuple(graph.shape(o) for o in graph.outputs)
    totals = graph.totals()  # a reshaped graph adds them up as it goes
    if totals is not None:
        return Report(graph.name, graph.input_shape, outputs, *totals, None, graph)
    params, macs, act, rows = _walk(graph)
    return Report(graph.name, graph.input_shape, outputs, params, macs, act, rows, graph)


def _walk(graph: Graph) -> tuple:
    """(params, MACs, activation bytes, rows) of every layer."""
    rows, shapes, params, macs, act = [], graph.shapes(), 0, 0, 0
    like = graph.weights_like()
    counted = parameter_counts(like) if like is not None else None
    for node in graph.structure():
        op = OPS[node.op]
        if not op.layer:  # the graph input
            continue
        shape = shapes[node.name]
        weights = counted[node.name] if counted is not None else \
            op.count(node.attrs, tuple([shapes[i] for i in node.inputs]))  # layer_cost(...), inlined
        if weights:
            m, a = weights * (prod(shape[1:]) if op.conv_like else 1), 2 * BYTES_PER_ELEMENT * prod(shape)
            p = 0 if node.share else weights
            params, macs, act = params + p, macs + m, act + a
        else:
            weights = p = m = a = 0
        rows.append((node.name, node.op, node.stage, node.inputs, shape, p, m, a, weights, node.share))
    return params, macs, act, tuple(rows)


def attention_macs(graph: Graph) -> dict:
    """Per node whose op has an `extra_macs` rule (matmul), the multiply-adds of one application."""
    shapes, out = graph.shapes(), {}
    for node in graph.structure():
        rule = OPS[node.op].extra_macs
        if rule is not None:
            out[node.name] = rule(node.attrs, tuple([shapes[i] for i in node.inputs]), shapes[node.name])
    return out


def parameter_counts(graph: Graph) -> dict:
    """Each layer's parameter count (what its op uses)."""
    shapes = graph.shapes()
    return {n.name: OPS[n.op].count(n.attrs, tuple([shapes[i] for i in n.inputs])) or 0
            for n in graph.structure() if OPS[n.op].layer}
