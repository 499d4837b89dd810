"""The primitive ops of the IR: parameters, shape rule and parameter count, kept together.

MACs and activation bytes follow from the parameter count with torchinfo's rules
(see analysis.py), so an op only says whether it is conv-like. Torch lowerings
live in lower.py so that this module (and `archc summary`) never imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from archc.errors import GraphError

REQUIRED = object()
MAX_INT = 2**31 - 1  # the one bound of every number a spec can give (sizes, counts): int32, as ONNX dims fit
Shape = tuple  # (C, H, W) for feature maps, (C,) after flatten


@dataclass(frozen=True)
class Param:
    """A declared parameter of an op or block. `type`: channels, int, ints (int or [h, w]),
    float, bool, str, list, any."""

    name: str
    type: str = "any"
    default: object = REQUIRED
    choices: tuple = ()
    doc: str = ""
    min: int | None = None  # smallest allowed value (channels, kernel, stride >= 1)
    above: float | None = None  # floats: the value must be larger than this (bn eps > 0)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Op:
    name: str
    doc: str
    params: dict
    infer: Callable  # (attrs, in_shapes) -> out shape, GraphError when it does not fit
    count: Callable = lambda a, ins: 0  # parameter count
    inputs: str = "1"  # "1", "2", "1+" or "2+"
    conv_like: bool = False  # torchinfo multiplies conv params by output H*W
    stride: Callable = lambda a: 1  # spatial downsampling factor (for the network's total stride)
    example: str = ""


OPS: dict[str, Op] = {}


def op(name, *, params=(), inputs="1", conv_like=False, stride=None, count=None, example=""):
    """Register the decorated shape rule as primitive op `name`."""

    def deco(infer):
        OPS[name] = Op(name, (infer.__doc__ or "").strip(), {p.name: p for p in params}, infer,
                       count or (lambda a, ins: 0), inputs, conv_like,
                       stride or (lambda a: 1), example)
        return infer

    return deco


TYPES = ("channels", "int", "ints", "float", "bool", "str", "list", "any")


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


TYPE_OK = {  # one test per parameter type, looked up rather than all computed on every call
    "channels": _int, "int": _int, "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str), "list": lambda v: isinstance(v, list),
    "ints": lambda v: _int(v) or (isinstance(v, list) and len(v) == 2 and all(_int(x) for x in v)),
}


def check_param(p: Param, value) -> str | None:
    """Why `value` does not fit parameter `p`, or None when it does."""
    if value is None and not p.required and p.default is None:
        return None
    ok = TYPE_OK.get(p.type)
    if ok is not None and not ok(value):
        want = {"ints": "an integer or [h, w]", "channels": "an integer channel count"}.get(p.type, f"a {p.type}")
        return f"'{p.name}' must be {want}, got {value!r}"
    if p.choices and value not in p.choices:
        return f"'{p.name}' must be one of {', '.join(map(str, p.choices))}, got {value!r}"
    return _check_range(p, value)


def _check_range(p: Param, value) -> str | None:
    """Finite, within MAX_INT, and above the parameter's bounds."""
    nums = [v for v in (value if isinstance(value, list) else [value])
            if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if any(v != v or v in (float("inf"), float("-inf")) for v in nums):
        return f"'{p.name}' must be a finite number, got {value!r}"
    if any(abs(v) > MAX_INT for v in nums):
        return f"'{p.name}' is past the bound of {MAX_INT:,} for a spec's numbers, got {_short(value)}"
    if p.above is not None and any(v <= p.above for v in nums):
        return f"'{p.name}' must be > {p.above:g}, got {value!r}"
    lo = 1 if p.type == "channels" and p.min is None else p.min
    if lo is not None and any(v < lo for v in (value if isinstance(value, list) else [value])):
        return f"'{p.name}' must be >= {lo}, got {value!r}"
    return None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 30 else f"a {len(text)}-character number"


def pair(v) -> tuple:
    return (v, v) if isinstance(v, int) else tuple(v)


def _spatial(shape, who):
    if len(shape) != 3:
        raise GraphError(f"{who} needs a CxHxW feature map, got {list(shape)}")
    return shape


def _window(size, k, s, p, d, ceil=False):
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + p:  # torch: the last window must start inside the input
        out -= 1
    return out


def _windows(hw, a, ceil=False):
    k, s, d = pair(a["k"]), pair(a["s"]), pair(a.get("d", 1))
    p = pair(a["p"]) if a.get("p") is not None else tuple(dd * (kk - 1) // 2 for kk, dd in zip(k, d))
    out = tuple(_window(n, kk, ss, pp, dd, ceil) for n, kk, ss, pp, dd in zip(hw, k, s, p, d))
    if min(out) < 1:
        raise GraphError(f"a {hw[0]}x{hw[1]} map is too small for kernel {list(k)}, stride {list(s)}, "
                         f"padding {list(p)}; use a larger input")
    return out


CONV_PARAMS = (
    Param("c", "channels", doc="output channels"),
    Param("k", "ints", 1, doc="kernel size, or [kh, kw]", min=1),
    Param("s", "ints", 1, doc="stride", min=1),
    Param("d", "ints", 1, doc="dilation", min=1),
    Param("p", "ints", None, doc="padding; default d*(k-1)/2 ('same' for odd k)", min=0),
    Param("groups", "int", 1, doc="channel groups; in_c for depthwise", min=1),
    Param("bias", "bool", False),
)


def _check_groups(a, cin):
    g = a["groups"]
    if g < 1 or cin % g or a["c"] % g:
        raise GraphError(f"groups={g} must divide both input channels {cin} and output channels {a['c']}")


@op("conv", params=CONV_PARAMS, conv_like=True, stride=lambda a: pair(a["s"])[0],
    count=lambda a, ins: a["c"] * ins[0][0] // a["groups"] * pair(a["k"])[0] * pair(a["k"])[1]
    + (a["c"] if a["bias"] else 0),
    example="{op: conv, c: 32, k: 3, s: 2}")
def _conv(a, ins):
    """2-D convolution (nn.Conv2d). Padding defaults to d*(k-1)/2 per side."""
    c, h, w = _spatial(ins[0], "conv")
    _check_groups(a, c)
    return (a["c"], *_windows((h, w), a))


def _deconv_out(n, k, s, p, op_, d):
    return (n - 1) * s - 2 * p + d * (k - 1) + op_ + 1


@op("deconv", params=(
        Param("c", "channels"), Param("k", "ints", 3, min=1), Param("s", "ints", 2, min=1),
        Param("p", "ints", 1, min=0), Param("output_padding", "ints", 1, min=0), Param("d", "ints", 1, min=1),
        Param("groups", "int", 1, min=1),
        Param("bias", "bool", True)),
    conv_like=True, stride=lambda a: 1 / pair(a["s"])[0],
    count=lambda a, ins: ins[0][0] * a["c"] // a["groups"] * pair(a["k"])[0] * pair(a["k"])[1]
    + (a["c"] if a["bias"] else 0),
    example="{op: deconv, c: 64, k: 3, s: 2, p: 1, output_padding: 1}")
def _deconv(a, ins):
    """Transposed 2-D convolution (nn.ConvTranspose2d), e.g. ERFNet's x2 upsampler."""
    c, h, w = _spatial(ins[0], "deconv")
    _check_groups(a, c)
    dims = zip((h, w), pair(a["k"]), pair(a["s"]), pair(a["p"]), pair(a["output_padding"]), pair(a["d"]))
    out = tuple(_deconv_out(*x) for x in dims)
    if min(out) < 1:
        raise GraphError(f"deconv output {list(out)} is empty")
    return (a["c"], *out)


@op("bn", params=(Param("eps", "float", 1e-5, above=0.0), Param("momentum", "float", 0.1)),
    count=lambda a, ins: 2 * ins[0][0], example="{op: bn}")
def _bn(a, ins):
    """Batch normalization over channels (nn.BatchNorm2d): 2·C parameters."""
    return tuple(ins[0])


ACTIVATIONS = ("relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu", "tanh", "gelu",
               "leaky_relu", "none")


@op("act", params=(Param("fn", "str", "relu", ACTIVATIONS),), example="{op: act, fn: relu6}")
def _act(a, ins):
    """Element-wise activation; `none` is the identity."""
    return tuple(ins[0])


def _pool_params(default_k):
    return (Param("k", "ints", default_k, min=1), Param("s", "ints", None, doc="default: k", min=1),
            Param("p", "ints", 0, min=0), Param("ceil", "bool", False))


def _pool(a, ins, who):
    c, h, w = _spatial(ins[0], who)
    a = dict(a, s=a["s"] if a["s"] is not None else a["k"])
    return (c, *_windows((h, w), a, a["ceil"]))


def _pool_stride(a):
    return pair(a["s"] if a["s"] is not None else a["k"])[0]


@op("maxpool", params=_pool_params(2), stride=_pool_stride, example="{op: maxpool, k: 2}")
def _maxpool(a, ins):
    """Max pooling (nn.MaxPool2d); stride defaults to the kernel."""
    return _pool(a, ins, "maxpool")


@op("avgpool", params=_pool_params(2), stride=_pool_stride, example="{op: avgpool, k: 3, s: 2, p: 1}")
def _avgpool(a, ins):
    """Average pooling (nn.AvgPool2d); stride defaults to the kernel."""
    return _pool(a, ins, "avgpool")


@op("adaptive_avgpool", params=(Param("size", "ints", 1, doc="output bins, or [h, w]", min=1),),
    stride=lambda a: None, example="{op: adaptive_avgpool, size: 1}")
def _adaptive_avgpool(a, ins):
    """Adaptive average pooling to `size` bins; lowered to a fixed AvgPool2d when the map divides.
    More bins than pixels is allowed, as in torch (windows overlap): Fast-SCNN's 8-bin PPM at 160x160."""
    c, _, _ = _spatial(ins[0], "adaptive_avgpool")
    bh, bw = pair(a["size"])
    return (c, bh, bw)


@op("resize", params=(
        Param("scale", "float", None, doc="scale factor"),
        Param("size", "ints", None, doc="output [h, w]; `to:` a node sets it"),
        Param("to", "str", None, doc="match the spatial size of this node (e.g. input)"),
        Param("mode", "str", "bilinear", ("bilinear", "nearest")),
        Param("align_corners", "bool", False)),
    stride=lambda a: None, example="{op: resize, scale: 8, align_corners: true}")
def _resize(a, ins):
    """Bilinear or nearest resize by `scale` or to a fixed `size` (static in the lowered model)."""
    c, h, w = _spatial(ins[0], "resize")
    if a["size"] is not None:
        oh, ow = pair(a["size"])
    elif a["scale"] is not None:
        oh, ow = int(h * a["scale"]), int(w * a["scale"])
    else:
        raise GraphError("resize needs `scale`, `size` or `to`")
    if oh < 1 or ow < 1:
        raise GraphError(f"resize to {oh}x{ow} is empty")
    return (c, oh, ow)


def _same_shapes(ins, who):
    if any(tuple(s) != tuple(ins[0]) for s in ins[1:]):
        shapes = " and ".join("x".join(map(str, s)) for s in ins)
        raise GraphError(f"{who} needs inputs of one shape, got {shapes}")
    return tuple(ins[0])


def _gate(g, x) -> bool:
    """A Cx1x1 map that broadcasts over the CxHxW map x (SE gates, global context)."""
    return len(g) == 3 and len(x) == 3 and g[0] == x[0] and tuple(g[1:]) == (1, 1)


@op("add", inputs="2+", example="{op: add, from: [in, project]}")
def _add(a, ins):
    """Element-wise sum of inputs of one shape (residuals, fusion); a Cx1x1 input broadcasts
    over the others (BiSeNetV2's context embedding adds a pooled vector to its map)."""
    full = max(ins, key=lambda s: len(s) == 3 and s[1] * s[2])
    if all(tuple(s) == tuple(full) or _gate(s, full) for s in ins):
        return tuple(full)
    return _same_shapes(ins, "add")


@op("mul", inputs="2", example="{op: mul, from: [in, gate]}")
def _mul(a, ins):
    """Element-wise product; the second input may be Cx1x1 (a channel gate, as in SE)."""
    x, g = tuple(ins[0]), tuple(ins[1])
    if g == x or _gate(g, x):
        return x
    return _same_shapes(ins, "mul")


@op("concat", inputs="2+", example="{op: concat, from: [branches, in]}")
def _concat(a, ins):
    """Concatenation along channels; spatial sizes must agree."""
    if any(len(s) != 3 or tuple(s[1:]) != tuple(ins[0][1:]) for s in ins):
        shapes = ", ".join("x".join(map(str, s)) for s in ins)
        raise GraphError(f"concat needs equal spatial sizes, got {shapes}")
    return (sum(s[0] for s in ins), *ins[0][1:])


@op("shuffle", params=(Param("groups", "int", min=1),), example="{op: shuffle, groups: 4}")
def _shuffle(a, ins):
    """Channel shuffle (ShuffleNet): reshape to groups x C/groups, transpose, flatten. No params."""
    if a["groups"] < 1 or ins[0][0] % a["groups"]:
        raise GraphError(f"shuffle groups {a['groups']} must divide the {ins[0][0]} channels")
    return tuple(ins[0])


@op("dropout", params=(Param("p", "float", 0.1),), example="{op: dropout, p: 0.1}")
def _dropout(a, ins):
    """Dropout (identity at inference)."""
    if not 0 <= a["p"] < 1:
        raise GraphError(f"dropout p={a['p']} must be in [0, 1)")
    return tuple(ins[0])


@op("flatten", example="{op: flatten}")
def _flatten(a, ins):
    """Flatten CxHxW to a vector of C·H·W."""
    n = 1
    for d in ins[0]:
        n *= d
    return (n,)


@op("linear", params=(Param("c", "channels"), Param("bias", "bool", True)),
    count=lambda a, ins: ins[0][0] * a["c"] + (a["c"] if a["bias"] else 0), example="{op: linear, c: 1000}")
def _linear(a, ins):
    """Fully connected layer (nn.Linear) on a flattened vector."""
    if len(ins[0]) != 1:
        raise GraphError(f"linear needs a flattened vector, got {list(ins[0])}; add {{op: flatten}} first")
    return (a["c"],)


@op("identity", example="{op: identity}")
def _identity(a, ins):
    """Pass-through."""
    return tuple(ins[0])


def arity_ok(op_: Op, n: int) -> bool:
    return {"1": n == 1, "2": n == 2, "1+": n >= 1, "2+": n >= 2}[op_.inputs]
