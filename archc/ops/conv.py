"""Weight layers: conv, deconv (transposed conv) and linear."""
from __future__ import annotations

from archc.errors import GraphError
from archc.ops.carry import Carry, grouped
from archc.ops.core import Param, channels, kxk, op, padding, pair, product, spatial, windows

CONV_PARAMS = (
    Param("c", "channels", doc="output channels"),
    Param("k", "ints", 1, doc="kernel size, or [kh, kw]", min=1),
    Param("s", "ints", 1, doc="stride", min=1),
    Param("d", "ints", 1, doc="dilation", min=1),
    Param("p", "ints", None, doc="padding; default d*(k-1)/2 ('same' for odd k)", min=0),
    Param("groups", "int", 1, doc="channel groups; in_c for depthwise", min=1),
    Param("bias", "bool", False),
)


def conv_kind(attrs: dict, cin: int) -> str:
    """dense, depthwise (one filter per input channel), pointwise (1x1, ungrouped) or grouped."""
    g = attrs.get("groups", 1) or 1
    if g > 1:
        return "depthwise" if g == cin else "grouped"
    return "pointwise" if pair(attrs.get("k", 1)) == (1, 1) else "dense"


def _words(op_name: str):
    """'dw conv 3x3 /2  32→32', 'pw conv 1x1  32→48', 'group conv 1x1 g4  64→64', 'deconv 2x2 /2  8→8'."""

    def words(attrs: dict, cin: int, cout: int, out) -> str:
        k = conv_kind(attrs, cin)
        name = {"dense": "conv", "depthwise": "dw conv", "pointwise": "pw conv", "grouped": "group conv"}[k]
        if op_name == "deconv":
            name = "deconv" if k == "dense" else f"{k} deconv"
        parts = [f"{name} {kxk(attrs.get('k', 1))}"]
        s, d, g = pair(attrs.get("s", 1)), pair(attrs.get("d", 1)), attrs.get("groups", 1) or 1
        if s != (1, 1):
            parts.append(f"/{s[0]}" if s[0] == s[1] else f"/{s[0]}x{s[1]}")
        if d != (1, 1):
            parts.append(f"d{d[0]}")
        if k == "grouped":
            parts.append(f"g{g}")
        return " ".join(parts) + f"  {cin}\u2192{cout}"

    return words


def _check_groups(a, cin):
    g = a["groups"]
    if g < 1 or cin % g or a["c"] % g:
        raise GraphError(f"groups={g} must divide both input channels {cin} and output channels {a['c']}")


def _kernel_count(a, ins) -> int:
    kh, kw = pair(a["k"])
    return a["c"] * ins[0][0] // a["groups"] * kh * kw + (a["c"] if a["bias"] else 0)


def _kernel_formula(a, ins, out, macs) -> str:
    """(kh·kw·c_in/g·c_out + bias)·H·W, as torchinfo counts a conv."""
    kh, kw = pair(a["k"])
    g, cin, (c, h, w) = a["groups"], ins[0][0], out
    text = f"{product(kh, kw)}·{cin}/{g}·{product(c, h, w)}" if g > 1 else product(kh, kw, cin, c, h, w)
    return text + (f" + {product(c, h, w)}" if a["bias"] else "") + f" = {macs:,}"


def _conv_module(a, ins):
    from torch import nn

    return nn.Conv2d(ins[0][0], a["c"], pair(a["k"]), pair(a["s"]), padding(a), pair(a["d"]), a["groups"], a["bias"])


@op("conv", params=CONV_PARAMS, carry=Carry(grouped, "kernel"), conv_like=True, stride=lambda a: pair(a["s"])[0],
    count=_kernel_count,
    formula=_kernel_formula, module=_conv_module, weighted=True,
    groupable=lambda a: pair(a["k"]) == (1, 1) and a["groups"] == 1,
    grouped=lambda a: pair(a["k"]) == (1, 1) and a["groups"] > 1, words=_words("conv"), look=conv_kind,
    example="{op: conv, c: 32, k: 3, s: 2}")
def _conv(a, ins):
    """2-D convolution (nn.Conv2d). Padding defaults to d*(k-1)/2 per side."""
    c, h, w = spatial(ins[0], "conv")
    _check_groups(a, c)
    return (a["c"], *windows((h, w), a))


def _deconv_out(n, k, s, p, op_, d):
    return (n - 1) * s - 2 * p + d * (k - 1) + op_ + 1


def _deconv_module(a, ins):
    from torch import nn

    return nn.ConvTranspose2d(ins[0][0], a["c"], pair(a["k"]), pair(a["s"]), pair(a["p"]), pair(a["output_padding"]),
                              a["groups"], a["bias"], pair(a["d"]))


@op("deconv", carry=Carry(grouped, "kernel_transposed"), params=(
        Param("c", "channels"), Param("k", "ints", 3, min=1), Param("s", "ints", 2, min=1),
        Param("p", "ints", 1, min=0), Param("output_padding", "ints", 1, min=0), Param("d", "ints", 1, min=1),
        Param("groups", "int", 1, min=1),
        Param("bias", "bool", True)),
    conv_like=True, stride=lambda a: 1 / pair(a["s"])[0], count=_kernel_count, formula=_kernel_formula,
    module=_deconv_module, weighted=True, words=_words("deconv"), look=conv_kind,
    example="{op: deconv, c: 64, k: 3, s: 2, p: 1, output_padding: 1}")
def _deconv(a, ins):
    """Transposed 2-D convolution (nn.ConvTranspose2d), e.g. ERFNet's x2 upsampler."""
    c, h, w = spatial(ins[0], "deconv")
    _check_groups(a, c)
    dims = zip((h, w), pair(a["k"]), pair(a["s"]), pair(a["p"]), pair(a["output_padding"]), pair(a["d"]))
    out = tuple(_deconv_out(*x) for x in dims)
    if min(out) < 1:
        raise GraphError(f"deconv output {list(out)} is empty")
    return (a["c"], *out)


def _linear_module(a, ins):
    from torch import nn

    return nn.Linear(channels(ins[0]), a["c"], a["bias"])


@op("linear", carry=Carry(None, "matrix"), params=(Param("c", "channels"), Param("bias", "bool", True)),
    count=lambda a, ins: channels(ins[0]) * a["c"] + (a["c"] if a["bias"] else 0), module=_linear_module, weighted=True,
    words=lambda a, cin, cout, out: f"linear {cin}\u2192{cout}",
    size_bound="fixes the feature count", example="{op: linear, c: 1000}   # a vector; on an LxC sequence: per token",
    formula=lambda a, ins, out, macs: f"{channels(ins[0])}·{a['c']}" + (f" + {a['c']}" if a["bias"] else "")
    + f" = {macs:,}")
def _linear(a, ins):
    """Fully connected layer (nn.Linear) on a flattened vector, or on each token of an LxC sequence
    (LxC -> Lxc). torchinfo counts its parameters as its MACs either way (not L times)."""
    if len(ins[0]) not in (1, 2):
        raise GraphError(f"linear needs a flattened vector or an LxC token sequence, got {list(ins[0])}; "
                         f"add {{op: flatten}} or {{op: tokens}} first")
    return (*ins[0][:-1], a["c"])
