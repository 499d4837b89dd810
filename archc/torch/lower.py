"""Lowering: Graph IR -> torch.fx.GraphModule.

Every parametrised or stateful primitive becomes a leaf module whose dotted path
is the node's spec path (`gfe.0.1.expand.conv`); parameter-free tensor ops
(add, concat, resize, shuffle...) become function calls. Shared nodes call the
owner's module again, so torchinfo sees one module applied several times.
Spatial sizes are static: resize lowers to an explicit size, and adaptive
pooling to a fixed AvgPool2d whenever the bins divide the map.
"""
from __future__ import annotations

import math
import operator
import os

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from archc.errors import GraphError
from archc.ir.graph import Graph
from archc.ops import pair

MODULES = {}
FUNCTIONS = {}
ACTS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hardswish": nn.Hardswish, "hardsigmoid": nn.Hardsigmoid,
        "sigmoid": nn.Sigmoid, "silu": nn.SiLU, "tanh": nn.Tanh, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU,
        "none": nn.Identity}


def module(name):
    def deco(fn):
        MODULES[name] = fn
        return fn
    return deco


def function(name):
    def deco(fn):
        FUNCTIONS[name] = fn
        return fn
    return deco


def _padding(a):
    if a.get("p") is not None:
        return pair(a["p"])
    return tuple(d * (k - 1) // 2 for k, d in zip(pair(a["k"]), pair(a["d"])))


@module("conv")
def _conv(a, ins):
    return nn.Conv2d(ins[0][0], a["c"], pair(a["k"]), pair(a["s"]), _padding(a), pair(a["d"]), a["groups"], a["bias"])


@module("deconv")
def _deconv(a, ins):
    return nn.ConvTranspose2d(ins[0][0], a["c"], pair(a["k"]), pair(a["s"]), pair(a["p"]), pair(a["output_padding"]),
                              a["groups"], a["bias"], pair(a["d"]))


@module("bn")
def _bn(a, ins):
    return nn.BatchNorm2d(ins[0][0], eps=a["eps"], momentum=a["momentum"])


@module("act")
def _act(a, ins):
    return ACTS[a["fn"]]()


@module("maxpool")
def _maxpool(a, ins):
    return nn.MaxPool2d(pair(a["k"]), pair(a["s"] or a["k"]), pair(a["p"]), ceil_mode=a["ceil"])


@module("avgpool")
def _avgpool(a, ins):
    return nn.AvgPool2d(pair(a["k"]), pair(a["s"] or a["k"]), pair(a["p"]), ceil_mode=a["ceil"])


@module("adaptive_avgpool")
def _adaptive_avgpool(a, ins):
    (h, w), (bh, bw) = ins[0][1:], pair(a["size"])
    if h % bh == 0 and w % bw == 0:  # fixed windows: exports everywhere and runs faster
        return nn.AvgPool2d((h // bh, w // bw), (h // bh, w // bw))
    return nn.AdaptiveAvgPool2d((bh, bw))


@module("dropout")
def _dropout(a, ins):
    return nn.Dropout(a["p"])


@module("linear")
def _linear(a, ins):
    return nn.Linear(ins[0][0], a["c"], a["bias"])


@module("identity")
def _identity(a, ins):
    return nn.Identity()


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


@function("add")
def _add(g, node, args):
    out = args[0]
    for other in args[1:]:
        out = g.call_function(operator.add, (out, other))
    return out


@function("mul")
def _mul(g, node, args):
    return g.call_function(operator.mul, tuple(args))


@function("concat")
def _concat(g, node, args):
    return g.call_function(torch.cat, (list(args),), {"dim": 1})


@function("shuffle")
def _shuffle(g, node, args):
    return g.call_function(channel_shuffle, (args[0], node.attrs["groups"]))


@function("flatten")
def _flatten(g, node, args):
    return g.call_function(torch.flatten, (args[0], 1))


@function("resize")
def _resize(g, node, args):
    a = node.attrs
    kwargs = {"size": tuple(node.shape[1:]), "mode": a["mode"]}
    if a["mode"] == "bilinear":
        kwargs["align_corners"] = a["align_corners"]
    return g.call_function(F.interpolate, (args[0],), kwargs)


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


def _lower(graph: Graph) -> fx.GraphModule:
    fg, env, modules = fx.Graph(), {}, {}
    for node in graph:
        if node.op == "input":
            env[node.name] = fg.placeholder("x")
            _stamp(fg, node.name)
            continue
        args = [env[i] for i in node.inputs]
        if node.op in MODULES:
            if node.owner not in modules:
                modules[node.owner] = MODULES[node.op](node.attrs, [graph.shape(i) for i in node.inputs])
            env[node.name] = fg.call_module(node.owner, tuple(args))
        else:
            env[node.name] = FUNCTIONS[node.op](fg, node, args)
        _stamp(fg, node.name)
    outs = [env[o] for o in graph.outputs]
    fg.output(outs[0] if len(outs) == 1 else tuple(outs))
    gm = fx.GraphModule(modules, fg, class_name=_class_name(graph.name))
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
