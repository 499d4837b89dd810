"""Lowering: Graph IR -> torch.fx.GraphModule, a generic walker over the op registry.

Each op's entry (archc.ops) says how it lowers: a `module` factory (a leaf module
whose dotted path is the node's spec path, `gfe.0.1.expand.conv`), a `call` that
emits fx function calls (add, concat, resize, shuffle...), or both (a maxpool
that also keeps its indices). Shared nodes call the owner's module again, so
torchinfo sees one module applied several times. Spatial sizes are static:
resize lowers to an explicit size, and adaptive pooling to a fixed AvgPool2d
whenever the bins divide the map.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import torch
import torch.fx as fx

from archc.errors import GraphError
from archc.ir.graph import Graph
from archc.ops import OPS
from archc.ops.core import fx_module
from archc.ops.tensor import channel_shuffle  # noqa: F401  kept importable from here


@dataclass
class Context:
    """What an op's lowering sees: the fx graph being written, the values so far, the modules made."""

    graph: Graph
    fg: fx.Graph = field(default_factory=fx.Graph)
    env: dict = field(default_factory=dict)  # IR node name -> fx value
    extra: dict = field(default_factory=dict)  # IR node name -> a second value (a maxpool's indices)
    modules: dict = field(default_factory=dict)  # weight owner -> nn.Module

    def shape(self, name: str) -> tuple:
        return self.graph.shape(name)


DEFAULT_LIMIT = 2**31  # parameters, and activation elements of one forward pass


def check_size(graph: Graph, limit: int = DEFAULT_LIMIT) -> None:
    """Refuse, before allocating anything, a model whose weights or activations exceed `limit` elements."""
    from archc.ir.analysis import analyze

    report = analyze(graph)
    elements = sum(math.prod(n.shape) for n in graph)
    for what, count in (("parameters", report.params), ("activation elements", elements)):
        if count > limit:
            raise GraphError(f"'{graph.name}' would allocate {count:,} {what}, over the limit of {limit:,}; "
                             f"shrink the spec or raise the limit (ARCHC_MAX_ELEMENTS)")


def lower(graph: Graph, seed: int = 0, limit: int | None = None) -> fx.GraphModule:
    """A torch module computing `graph`; module paths are the IR's node names. Weights are
    initialised from `seed`, so the same spec gives the same model (and byte-identical ONNX)."""
    check_size(graph, limit or int(os.environ.get("ARCHC_MAX_ELEMENTS", DEFAULT_LIMIT)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _lower(graph)


def lower_node(ctx: Context, node) -> None:
    """Emit one IR node through its registry entry."""
    entry = OPS[node.op]
    args = [ctx.env[i] for i in node.inputs]
    if entry.module is not None:
        args = [fx_module(ctx, node, args)]
        value = entry.call(ctx, node, args) if entry.call else args[0]
    else:
        value = entry.call(ctx, node, args)
    ctx.env[node.name] = value


def _lower(graph: Graph) -> fx.GraphModule:
    ctx = Context(graph)
    for node in graph:
        lower_node(ctx, node)
        _stamp(ctx.fg, node.name)
    outs = [ctx.env[o] for o in graph.outputs]
    ctx.fg.output(outs[0] if len(outs) == 1 else tuple(outs))
    gm = fx.GraphModule(ctx.modules, ctx.fg, class_name=_class_name(graph.name))
    return gm.eval()


def _stamp(fg: fx.Graph, name: str) -> None:
    """Record which IR node each new fx node computes (`meta["archc"]`), so that
    export can name ONNX nodes by spec path even for function calls and shared weights."""
    for n in reversed(fg.nodes):
        if "archc" in n.meta:
            break
        n.meta["archc"] = name


def _class_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in name)
    return cleaned if cleaned[:1].isalpha() else f"Net_{cleaned}"
