"""Parameter-free tensor ops: the graph input, resize, crop, add, mul, div, channel_sum, concat, shuffle, flatten,
identity."""
from __future__ import annotations

import operator

from archc.errors import GraphError
from archc.ops.carry import SAME, Carry, concat, each, flatten, gate, shuffle
from archc.ops.core import Param, op, pair, spatial


def _placeholder(ctx, node, args):
    return ctx.fg.placeholder("x")


@op("input", carry=Carry(), params=(Param("shape", "list", doc="[C, H, W], the spec's `input:`"),), inputs="0",
    layer=False, words=lambda a, cin, cout, out: "input", look=lambda a, cin: "input",
    call=_placeholder, place=lambda op_, a, graph, inputs, refs: 1.0, example="input: 3x224x224   # top of a spec")
def _input(a, ins):
    """The network's input image (one per graph, named `input`); `from: input` reads it."""
    return tuple(a["shape"])


def _resize_bind(a, graph, inputs, refs) -> dict:
    """`to: NAME` as the named map's spatial size (resize and crop)."""
    return {**a, "size": list(graph.shape(refs["to"])[1:])} if refs.get("to") else a


def _resize_place(op_, a, graph, inputs, refs):
    """A resize `to:` a node lands on that node's stride; by `scale`, the input's divided; a fixed size has none."""
    if refs.get("to"):
        return graph[refs["to"]].stride
    base = graph[inputs[0]].stride
    return base / a["scale"] if base is not None and a["scale"] else None


def _resize_call(ctx, node, args):
    import torch.nn.functional as F

    a = node.attrs
    kwargs = {"size": tuple(node.shape[1:]), "mode": a["mode"]}
    if a["mode"] == "bilinear":
        kwargs["align_corners"] = a["align_corners"]
    return ctx.fg.call_function(F.interpolate, (args[0],), kwargs)


def _resize_words(a, cin, cout, out) -> str:
    """'resize x8 bilinear', 'resize to 64x64 nearest'."""
    how = f"x{a['scale']:g}" if a.get("scale") else "to " + "x".join(map(str, out[1:]))
    return f"resize {how} {a.get('mode', 'bilinear')}"


def _resize_rescale(fields: dict, factor):
    """A resize row by a plain number `scale` upsamples `factor` times more with its scale multiplied."""
    scale = fields.get("scale")
    if isinstance(scale, (int, float)) and not isinstance(scale, bool):
        return {**fields, "scale": scale * factor}
    return None


@op("resize", carry=SAME, params=(
        Param("scale", "float", None, doc="scale factor"),
        Param("size", "ints", None, doc="output [h, w]; `to:` a node sets it"),
        Param("to", "str", None, doc="match the spatial size of this node (e.g. input)"),
        Param("mode", "str", "bilinear", ("bilinear", "nearest")),
        Param("align_corners", "bool", False)),
    refs=("to",), bind=_resize_bind, place=_resize_place, call=_resize_call, rescale=_resize_rescale,
    words=_resize_words,
    size_bound="is lowered to a fixed output size", example="{op: resize, scale: 8, align_corners: true}")
def _resize(a, ins):
    """Bilinear or nearest resize by `scale`, to a fixed `size` or `to:` a node's size (static in the lowered model)."""
    c, h, w = spatial(ins[0], "resize")
    if a["size"] is not None:
        oh, ow = pair(a["size"])
    elif a["scale"] is not None:
        oh, ow = int(h * a["scale"]), int(w * a["scale"])
    else:
        raise GraphError("resize needs `scale`, `size` or `to`")
    if oh < 1 or ow < 1:
        raise GraphError(f"resize to {oh}x{ow} is empty")
    return (c, oh, ow)


def crop_box(hw, size) -> tuple:
    """(top, left) of a centre crop of an h x w map to `size`: the larger half of an odd margin is below/right."""
    return (hw[0] - size[0]) // 2, (hw[1] - size[1]) // 2


def _crop_call(ctx, node, args):
    h, w = node.shape[1:]
    top, left = crop_box(ctx.shape(node.inputs[0])[1:], (h, w))
    box = (slice(None), slice(None), slice(top, top + h), slice(left, left + w))
    return ctx.fg.call_function(operator.getitem, (args[0], box))


@op("crop", carry=SAME, params=(
        Param("to", "str", None, doc="crop to the spatial size of this node"),
        Param("size", "ints", None, doc="or to a fixed [h, w]; `to:` a node sets it")),
    refs=("to",), bind=_resize_bind, call=_crop_call, size_bound="is lowered to fixed crop offsets", crops=True,
    words=lambda a, cin, cout, out: "crop to " + "x".join(map(str, out[1:])),
    example="{op: crop, size: [24, 24]}   # or U-Net's copy and crop: {op: crop, from: SKIP, to: UP}")
def _crop(a, ins):
    """Centre crop of a map to the spatial size of the node named by `to:` (or a fixed `size:`), as the
    paper's U-Net crops its contracting path's maps to the expanding path's: x[..., t:t+h, l:l+w] with
    t = (H - h) // 2, l = (W - w) // 2. No parameters, no MACs; a network with one is an
    unpadded network, whose input sizes archc checks pooling by pooling (see the input size check)."""
    c, h, w = spatial(ins[0], "crop")
    if a["size"] is None:
        raise GraphError("crop needs `to: NODE` (a map of the target size) or `size: [h, w]`")
    th, tw = pair(a["size"])
    if th > h or tw > w:
        raise GraphError(f"crop to {th}x{tw} is larger than its {h}x{w} map; use a larger input")
    return (c, th, tw)


def _same_shapes(ins, who):
    if any(tuple(s) != tuple(ins[0]) for s in ins[1:]):
        shapes = " and ".join("x".join(map(str, s)) for s in ins)
        raise GraphError(f"{who} needs inputs of one shape, got {shapes}")
    return tuple(ins[0])


def _gate(g, x) -> bool:
    """A Cx1x1 map that broadcasts over the CxHxW map x (SE gates, global context)."""
    return len(g) == 3 and len(x) == 3 and g[0] == x[0] and tuple(g[1:]) == (1, 1)


def _call(fn, *extra, **kwargs):
    """A lowering that calls `fn(*inputs, *extra, **kwargs)`."""
    return lambda ctx, node, args: ctx.fg.call_function(fn, (*args, *extra), kwargs)


def _add_call(ctx, node, args):
    out = args[0]
    for other in args[1:]:
        out = ctx.fg.call_function(operator.add, (out, other))
    return out


@op("add", carry=Carry(each), inputs="2+", call=_add_call, example="{op: add, from: [in, project]}")
def _add(a, ins):
    """Element-wise sum of inputs of one shape (residuals, fusion); a Cx1x1 input broadcasts
    over the others (BiSeNetV2's context embedding adds a pooled vector to its map)."""
    full = max(ins, key=lambda s: len(s) == 3 and s[1] * s[2])
    if all(tuple(s) == tuple(full) or _gate(s, full) for s in ins):
        return tuple(full)
    return _same_shapes(ins, "add")


def _spatial_gate(g, x) -> bool:
    """A 1xHxW map that broadcasts over the channels of the CxHxW map x (PIDNet's attention maps)."""
    return len(g) == 3 and len(x) == 3 and g[0] == 1 and tuple(g[1:]) == tuple(x[1:])


def _mul_call(ctx, node, args):
    x, g = args
    if node.attrs["complement"]:
        g = ctx.fg.call_function(operator.sub, (1.0, g))
    return ctx.fg.call_function(operator.mul, (g, x) if node.attrs["complement"] else (x, g))


@op("mul", carry=Carry(gate), params=(Param("complement", "bool", False, doc="scale by 1 - the second input instead"),),
    inputs="2", call=_mul_call, example="{op: mul, from: [in, gate]}   # complement: true gives in * (1 - gate)")
def _mul(a, ins):
    """Element-wise product; the second input may be Cx1x1 (a channel gate, as in SE) or 1xHxW (a
    spatial gate, as PIDNet's); `complement` scales by 1 - the second input (PIDNet's gated mixes)."""
    x, g = tuple(ins[0]), tuple(ins[1])
    if g == x or _gate(g, x) or _spatial_gate(g, x):
        return x
    raise GraphError(f"mul needs inputs of one shape, or a second input of {x[0]}x1x1 (channel gate) or "
                     f"1x{'x'.join(map(str, x[1:]))} (spatial gate), got {'x'.join(map(str, x))} and "
                     f"{'x'.join(map(str, g))}")


def _div_call(ctx, node, args):
    den = args[1] if not node.attrs["eps"] else ctx.fg.call_function(operator.add, (args[1], node.attrs["eps"]))
    return ctx.fg.call_function(operator.truediv, (args[0], den))


@op("div", inputs="2", params=(Param("eps", "float", 0.0, doc="added to the divisor first"),), call=_div_call,
    example="{op: div, from: [num, den], eps: 0.00001}")
def _div(a, ins):
    """Element-wise quotient x / (y + eps); y may have a last dim of 1 that broadcasts (EfficientViT's
    linear attention divides each token's mix by its normalizer). No params, no MACs in torchinfo."""
    x, y = tuple(ins[0]), tuple(ins[1])
    if y == x or (len(y) == len(x) and y[:-1] == x[:-1] and y[-1] == 1):
        return x
    raise GraphError(f"div needs inputs of one shape, or a divisor whose last dim is 1, got {'x'.join(map(str, x))} "
                     f"and {'x'.join(map(str, y))}")


def _channel_sum_call(ctx, node, args):
    import torch

    return ctx.fg.call_function(torch.sum, (args[0],), {"dim": 1, "keepdim": True})


@op("channel_sum", carry=Carry(), call=_channel_sum_call, example="{op: channel_sum}   # CxHxW -> 1xHxW")
def _channel_sum(a, ins):
    """Sum over the channels (torch.sum(x, dim=1, keepdim=True)): a 1xHxW map, e.g. PIDNet's
    pixel-attention similarity before its sigmoid. No params."""
    return (1, *spatial(ins[0], "channel_sum")[1:])


def _concat_call(ctx, node, args):
    import torch

    return ctx.fg.call_function(torch.cat, (list(args),), {"dim": 1})


@op("concat", carry=Carry(concat), inputs="2+", call=_concat_call, distinct=True,
    example="{op: concat, from: [branches, in]}")
def _concat(a, ins):
    """Concatenation along channels; spatial sizes must agree, and each input is read once."""
    if any(len(s) != 3 or tuple(s[1:]) != tuple(ins[0][1:]) for s in ins):
        shapes = ", ".join("x".join(map(str, s)) for s in ins)
        raise GraphError(f"concat needs equal spatial sizes, got {shapes}")
    return (sum(s[0] for s in ins), *ins[0][1:])


def channel_shuffle(x, groups: int):
    """ShuffleNet's channel shuffle: (N, g, C/g, H, W) transposed to (N, C/g, g, H, W)."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


@op("shuffle", carry=Carry(shuffle), params=(Param("groups", "int", min=1),),
    call=lambda ctx, node, args: ctx.fg.call_function(channel_shuffle, (args[0], node.attrs["groups"])),
    example="{op: shuffle, groups: 4}")
def _shuffle(a, ins):
    """Channel shuffle (ShuffleNet): reshape to groups x C/groups, transpose, flatten. No params."""
    if a["groups"] < 1 or ins[0][0] % a["groups"]:
        raise GraphError(f"shuffle groups {a['groups']} must divide the {ins[0][0]} channels")
    return tuple(ins[0])


def _flatten_call(ctx, node, args):
    import torch

    return ctx.fg.call_function(torch.flatten, (args[0], 1))


@op("flatten", carry=Carry(flatten), call=_flatten_call, size_bound="fixes the feature count", example="{op: flatten}")
def _flatten(a, ins):
    """Flatten CxHxW to a vector of C·H·W."""
    n = 1
    for d in ins[0]:
        n *= d
    return (n,)


def _identity_module(a, ins):
    from torch import nn

    return nn.Identity()


@op("identity", carry=SAME, module=_identity_module, quiet=True, example="{op: identity}")
def _identity(a, ins):
    """Pass-through."""
    return tuple(ins[0])
