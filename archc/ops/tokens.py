"""Token ops: a CxHxW map as an LxC token sequence and back, heads, matmul of two activations and
softmax. A sequence's shape is (L, C), channels last as torch holds it; an attention head tensor's
is (heads, L, d). Linear, layernorm, act, add, slice and split work on sequences too (over C)."""
from __future__ import annotations

from math import prod

from archc.ops.carry import (SAME, Carry, head_axis, heads as heads_rule, kept_axis, matmul as matmul_rule, merged,
                              product_axis, same, swapped_axis)
from archc.errors import GraphError
from archc.ops.core import Param, op, pair, spatial


def _method(name, *extra):
    """A lowering that calls the tensor method `name(*extra)` on the node's input."""
    return lambda ctx, node, args: ctx.fg.call_method(name, (args[0], *extra))


def _sequence(shape, who):
    if len(shape) != 2:
        raise GraphError(f"{who} needs an LxC token sequence, got {list(shape)}; add {{op: tokens}} first")
    return shape


def _patch_doc() -> Param:
    return Param("patch", "ints", 1, min=1, doc="p or [ph, pw]: the pixels at one position of every "
                 "p x p patch form one run of tokens (MobileViT's unfold)")


def _tokens_call(ctx, node, args):
    ph, pw = pair(node.attrs["patch"])
    if (ph, pw) == (1, 1):
        flat = ctx.fg.call_method("flatten", (args[0], 2))
        return ctx.fg.call_method("transpose", (flat, 1, 2))
    x = ctx.fg.call_method("unflatten", (args[0], 3, (-1, pw)))  # B, C, H, nw, pw
    x = ctx.fg.call_method("unflatten", (x, 2, (-1, ph)))  # B, C, nh, ph, nw, pw
    x = ctx.fg.call_method("permute", (x, 0, 3, 5, 2, 4, 1))  # B, ph, pw, nh, nw, C
    return ctx.fg.call_method("flatten", (x, 1, 4))


def _patch_stride(a):
    """A patch grid must tile the map: to the input-size check it is a stride of the patch size."""
    return pair(a["patch"])[0]


@op("tokens", carry=SAME, params=(_patch_doc(),), call=_tokens_call, stride=_patch_stride,
    example="{op: tokens}   # 32x64x64 -> 4096x32; patch: 2 orders them by position in 2x2 patches")
def _tokens(a, ins):
    """A CxHxW map as a sequence of H·W tokens of C channels (x.flatten(2).transpose(1, 2)), row by
    row. With `patch: p` the map is cut into p x p patches and the tokens are ordered by position in
    the patch, then by patch: p·p runs of H·W/p² tokens, run i holding the pixels at position i of
    every patch, row by row (MobileViT's unfold, its B·P x N x C as one sequence). H and W must
    divide by p (the input-size check counts p as a stride)."""
    c, h, w = spatial(ins[0], "tokens")
    ph, pw = pair(a["patch"])
    if h % ph or w % pw:
        raise GraphError(f"tokens patch {ph}x{pw} does not tile the {h}x{w} map; use an input size whose maps at "
                         f"this depth divide by the patch")
    return (h * w, c)


def _untokens_bind(a, graph, inputs, refs) -> dict:
    return {**a, "size": list(graph.shape(refs["to"])[-2:])} if refs.get("to") else a


def _untokens_call(ctx, node, args):
    ph, pw = pair(node.attrs["patch"])
    c, h, w = node.shape
    if (ph, pw) == (1, 1):
        t = ctx.fg.call_method("transpose", (args[0], 1, 2))
        return ctx.fg.call_method("unflatten", (t, 2, (h, w)))
    x = ctx.fg.call_method("unflatten", (args[0], 1, (ph, pw, h // ph, w // pw)))  # B, ph, pw, nh, nw, C
    x = ctx.fg.call_method("permute", (x, 0, 5, 3, 1, 4, 2))  # B, C, nh, ph, nw, pw
    return ctx.fg.call_method("reshape", (x, -1, c, h, w))


def _untokens_place(op_, a, graph, inputs, refs):
    """Back on the map `to:` names, at its stride; with a fixed size, the tokens' stride undone by the patch."""
    if refs.get("to"):
        return graph[refs["to"]].stride
    base = graph[inputs[0]].stride
    return None if base is None else base / _patch_stride(a)


@op("untokens", carry=SAME, params=(Param("to", "str", None, doc="a map node whose H, W the tokens came from"),
                        Param("size", "ints", None, doc="or the map's [h, w]"), _patch_doc()),
    refs=("to",), bind=_untokens_bind, call=_untokens_call, size_bound="is lowered to a fixed map size",
    place=_untokens_place,
    example="{op: untokens, size: [32, 32]}   # or to: NODE, the map the tokens came from")
def _untokens(a, ins):
    """An LxC token sequence back to a CxHxW map of the known size, H·W = L: `to:` a map node (its H
    and W) or a fixed `size:` (x.transpose(1, 2).unflatten(2, (H, W))); `patch:` undoes the tokens'
    patch order (MobileViT's fold)."""
    length, c = _sequence(ins[0], "untokens")
    if a["size"] is None:
        raise GraphError("untokens needs `to: NODE` (a map of the tokens' size) or `size: [h, w]`")
    h, w = pair(a["size"])
    if h * w != length:
        raise GraphError(f"untokens to {h}x{w} needs {h * w} tokens, got {length}; name the map the tokens came from")
    ph, pw = pair(a["patch"])
    if h % ph or w % pw:
        raise GraphError(f"untokens patch {ph}x{pw} does not tile the {h}x{w} map")
    return (c, h, w)


def _groups_param() -> Param:
    return Param("groups", "int", 1, min=1, doc="runs of tokens that attend only within themselves (heads "
                 "of run 0 first): MobileViT's patch positions")


def _heads_call(ctx, node, args):
    g = node.attrs["groups"]
    heads, n, d = node.shape[0] // g, node.shape[1], node.shape[2]
    split = ctx.fg.call_method("unflatten", (args[0], -1, (heads, d)))
    if g == 1:
        return ctx.fg.call_method("transpose", (split, 1, 2))
    split = ctx.fg.call_method("unflatten", (split, 1, (g, n)))  # B, g, N, heads, d
    return ctx.fg.call_method("flatten", (ctx.fg.call_method("transpose", (split, 2, 3)), 1, 2))


@op("heads", carry=Carry(heads_rule, axis=head_axis), params=(
        Param("heads", "int", min=1, doc="attention heads; C must divide by it"), _groups_param()),
    call=_heads_call, example="{op: heads, heads: 2}   # 64x32 -> 2x64x16; groups: 4 gives 8x16x16")
def _heads(a, ins):
    """Split an LxC sequence's channels into `heads` heads: heads x L x C/heads (reshape, transpose).
    With `groups: g` the L tokens are g runs of L/g that attend only within their run: g·heads x L/g
    x C/heads, run 0's heads first (MobileViT's attention over each patch position)."""
    length, c = _sequence(ins[0], "heads")
    if c % a["heads"]:
        raise GraphError(f"heads={a['heads']} does not divide the sequence's {c} channels; use a divisor of {c}")
    g = a["groups"]
    if length % g:
        raise GraphError(f"heads groups={g} does not divide the sequence's {length} tokens; use a divisor of {length}")
    return (g * a["heads"], length // g, c // a["heads"])


def _merge_call(ctx, node, args):
    g = node.attrs["groups"]
    if g > 1:
        x = ctx.fg.call_method("unflatten", (args[0], 1, (g, -1)))  # B, g, heads, N, d
        x = ctx.fg.call_method("flatten", (ctx.fg.call_method("transpose", (x, 2, 3)), 3))  # B, g, N, C
        return ctx.fg.call_method("flatten", (x, 1, 2))
    t = ctx.fg.call_method("transpose", (args[0], 1, 2))
    return ctx.fg.call_method("flatten", (t, 2))


@op("merge_heads", carry=Carry(merged), params=(_groups_param(),), call=_merge_call,
    example="{op: merge_heads}   # 2x64x16 -> 64x32")
def _merge_heads(a, ins):
    """Join heads x L x d back into an L x heads·d sequence (the inverse of `heads`, with its `groups`)."""
    if len(ins[0]) != 3:
        raise GraphError(f"merge_heads needs a heads x L x d tensor, got {list(ins[0])}; add {{op: heads}} first")
    heads, length, d = ins[0]
    g = a["groups"]
    if heads % g:
        raise GraphError(f"merge_heads groups={g} does not divide the tensor's {heads} heads; give the `groups` "
                         f"of its `heads`")
    return (g * length, heads // g * d)


def _batched(shape, who):
    if len(shape) not in (2, 3):
        raise GraphError(f"{who} needs a sequence or a heads tensor, got {list(shape)}")
    return shape


@op("transpose", carry=Carry(same, axis=swapped_axis), call=_method("transpose", -2, -1),
    example="{op: transpose}   # keys: 64x16 -> 16x64 per head")
def _transpose(a, ins):
    """Swap the last two dims (x.transpose(-2, -1)): keys before q·kᵀ."""
    s = _batched(ins[0], "transpose")
    return (*s[:-2], s[-1], s[-2])


@op("softmax", carry=Carry(same, axis=kept_axis), call=_method("softmax", -1), example="{op: softmax}")
def _softmax(a, ins):
    """Softmax over the last dim (attention weights over the keys). No params."""
    return tuple(_batched(ins[0], "softmax"))


def _matmul_call(ctx, node, args):
    import operator

    out = ctx.fg.call_function(operator.matmul, tuple(args))
    scale = node.attrs["scale"]
    return out if scale == 1 else ctx.fg.call_function(operator.mul, (out, scale))


def _first_stride(op_, a, graph, inputs, refs):
    """The queries' stride: keys reduced by a strided conv (SegFormer's sr) do not make the output coarser."""
    return graph[inputs[0]].stride


def _matmul_macs(a, ins, out) -> int:
    return prod(out) * ins[0][-1]


@op("matmul", carry=Carry(matmul_rule, axis=product_axis), params=(Param("scale", "float", 1.0,
                                                      doc="multiply the product by this (d^-0.5 for q·kᵀ)"),),
    inputs="2", call=_matmul_call, extra_macs=_matmul_macs, place=_first_stride,
    example="{op: matmul, from: [q, kt], scale: 0.25}")
def _matmul(a, ins):
    """Product of two activations (a @ b, then · scale): [..., m, k] @ [..., k, n] -> [..., m, n] with
    equal leading dims. No params, so torchinfo counts no MACs; its m·k·n per head are `macs_attention`."""
    x, y = _batched(ins[0], "matmul"), _batched(ins[1], "matmul")
    if len(x) != len(y) or x[:-2] != y[:-2] or x[-1] != y[-2]:
        raise GraphError(f"matmul cannot multiply {'x'.join(map(str, x))} by {'x'.join(map(str, y))}; the first's "
                         f"last dim must equal the second's next-to-last, and leading dims must agree")
    return (*x[:-1], y[-1])
