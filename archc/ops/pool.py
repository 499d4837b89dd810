"""Pooling: max (optionally with indices), average, adaptive average, and max-unpooling."""
from __future__ import annotations

import operator

from archc.errors import GraphError
from archc.ops.carry import SAME, Carry, each
from archc.ops.core import Param, kxk, op, pair, spatial, windows


def _pool_params(default_k):
    return (Param("k", "ints", default_k, min=1), Param("s", "ints", None, doc="default: k", min=1),
            Param("p", "ints", 0, min=0), Param("ceil", "bool", False))


def _pool_words(kind: str):
    """'max pool 3x3 /2', 'avg pool 2x2'."""
    def words(a, cin, cout, out) -> str:
        return f"{kind} pool {kxk(a.get('k', 2))}" + (f" /{pair(a['s'])[0]}" if a.get("s") else "")

    return words


def _pool(a, ins, who):
    c, h, w = spatial(ins[0], who)
    a = dict(a, s=a["s"] if a["s"] is not None else a["k"])
    return (c, *windows((h, w), a, a["ceil"]))


def _pool_stride(a):
    return pair(a["s"] if a["s"] is not None else a["k"])[0]


def _window_args(a) -> tuple:
    return pair(a["k"]), pair(a["s"] or a["k"]), pair(a["p"])


def _maxpool_module(a, ins):
    from torch import nn

    return nn.MaxPool2d(*_window_args(a), ceil_mode=a["ceil"], return_indices=a["indices"])


def _maxpool_call(ctx, node, args):
    """With indices the module returns (map, indices): the node is the map, the indices wait for an unpool."""
    if not node.attrs["indices"]:
        return args[0]
    ctx.extra[node.name] = ctx.fg.call_function(operator.getitem, (args[0], 1))
    return ctx.fg.call_function(operator.getitem, (args[0], 0))


@op("maxpool", carry=SAME, params=_pool_params(2) + (Param("indices", "bool", False,
                                                           doc="keep the argmax for max_unpool"),),
    stride=_pool_stride, module=_maxpool_module, call=_maxpool_call, words=_pool_words("max"),
    example="{op: maxpool, k: 2, indices: true}")
def _maxpool(a, ins):
    """Max pooling (nn.MaxPool2d); stride defaults to the kernel. `indices: true` keeps where each
    maximum came from, for a later max_unpool (ENet, SegNet)."""
    return _pool(a, ins, "maxpool")


def _avgpool_module(a, ins):
    from torch import nn

    return nn.AvgPool2d(*_window_args(a), ceil_mode=a["ceil"])


@op("avgpool", carry=SAME, params=_pool_params(2), stride=_pool_stride, module=_avgpool_module,
    words=_pool_words("avg"), example="{op: avgpool, k: 3, s: 2, p: 1}")
def _avgpool(a, ins):
    """Average pooling (nn.AvgPool2d); stride defaults to the kernel."""
    return _pool(a, ins, "avgpool")


def _adaptive_module(a, ins):
    from torch import nn

    (h, w), (bh, bw) = ins[0][1:], pair(a["size"])
    if h % bh == 0 and w % bw == 0:  # fixed windows: exports everywhere and runs faster
        return nn.AvgPool2d((h // bh, w // bw), (h // bh, w // bw))
    return nn.AdaptiveAvgPool2d((bh, bw))


@op("adaptive_avgpool", carry=SAME, params=(Param("size", "ints", 1, doc="output bins, or [h, w]", min=1),),
    words=lambda a, cin, cout, out: f"avg pool to {kxk(a.get('size', 1))}",
    stride=lambda a: None, module=_adaptive_module, bins=lambda a: pair(a["size"]),
    size_bound="pools to windows fixed by the map size",
    example="{op: adaptive_avgpool, size: 1}")
def _adaptive_avgpool(a, ins):
    """Adaptive average pooling to `size` bins; lowered to a fixed AvgPool2d when the map divides.
    More bins than pixels is allowed, as in torch (windows overlap): Fast-SCNN's 8-bin PPM at 160x160."""
    c, _, _ = spatial(ins[0], "adaptive_avgpool")
    bh, bw = pair(a["size"])
    return (c, bh, bw)


def _unpool_bind(a, graph, inputs, refs) -> dict:
    """Take window and output size from the maxpool whose indices the second input carries."""
    pool = graph[inputs[1]]
    if pool.op != "maxpool" or not pool.attrs.get("indices"):
        raise GraphError(f"max_unpool needs the indices of a maxpool: its second input '{pool.name}' is a "
                         f"{pool.op}{'' if pool.op != 'maxpool' else ' without indices: true'}; write "
                         f"from: [x, POOL] naming a {{op: maxpool, indices: true}}")
    k, s, p = _window_args(pool.attrs)
    return {**a, "k": list(k), "s": list(s), "p": list(p), "size": list(graph.shape(pool.inputs[0])[1:])}


def _unpool_call(ctx, node, args):
    import torch.nn.functional as F

    a = node.attrs
    return ctx.fg.call_function(F.max_unpool2d, (args[0], ctx.extra[node.inputs[1]], tuple(a["k"]), tuple(a["s"]),
                                                 tuple(a["p"]), tuple(a["size"])))


@op("max_unpool", inputs="2", bind=_unpool_bind, call=_unpool_call, stride=lambda a: 1 / a["s"][0],
    carry=Carry(each),  # the map's, the pool's (its indices) and the output's channels are one another's
    size_bound="is lowered to a fixed output size (its pool's input size)",
    example="{op: max_unpool, from: [x, pool]}   # pool: {op: maxpool, indices: true}")
def _max_unpool(a, ins):
    """Max-unpooling (nn.MaxUnpool2d): each value of the first input goes back to where the maximum was
    in the maxpool named second, zeros elsewhere; output size and window are that pool's."""
    if tuple(ins[0]) != tuple(ins[1]):
        raise GraphError(f"max_unpool: the map {'x'.join(map(str, ins[0]))} must have the shape of the pool's "
                         f"output {'x'.join(map(str, ins[1]))} whose indices it uses")
    return (ins[0][0], *a["size"])
