"""Per-element and per-channel ops: batch norm, activations, PReLU, dropout."""
from __future__ import annotations

from archc.errors import GraphError
from archc.ops.carry import SAME, Carry, groups_tied, same
from archc.ops.core import Param, channels, op, spatial


def _bn_module(a, ins):
    from torch import nn

    return nn.BatchNorm2d(ins[0][0], eps=a["eps"], momentum=a["momentum"])


@op("bn", carry=Carry(same, "per_channel"), params=(Param("eps", "float", 1e-5, above=0.0),
                  Param("momentum", "float", 0.1, doc="running-statistics update")),
    count=lambda a, ins: 2 * ins[0][0], module=_bn_module, folds=True,
    words=lambda a, cin, cout, out: f"batch norm {cout}", look=lambda a, cin: "norm",
    formula=lambda a, ins, out, macs: f"2·{ins[0][0]} = {macs:,}", example="{op: bn, eps: 0.001, momentum: 0.01}")
def _bn(a, ins):
    """Batch normalization over channels (nn.BatchNorm2d): 2·C parameters."""
    return tuple(ins[0])


ACTIVATIONS = ("relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu", "tanh", "gelu",
               "leaky_relu", "none")
# other names papers and libraries use for the same functions
ALIASES = {"hswish": "hardswish", "hard_swish": "hardswish", "h_swish": "hardswish",
           "hsigmoid": "hardsigmoid", "hard_sigmoid": "hardsigmoid", "h_sigmoid": "hardsigmoid",
           "swish": "silu", "lrelu": "leaky_relu", "identity": "none", "linear": "none"}


def _act_module(a, ins):
    from torch import nn

    return {"relu": nn.ReLU, "relu6": nn.ReLU6, "hardswish": nn.Hardswish, "hardsigmoid": nn.Hardsigmoid,
            "sigmoid": nn.Sigmoid, "silu": nn.SiLU, "tanh": nn.Tanh, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU,
            "none": nn.Identity}[a["fn"]]()


@op("act", carry=SAME, params=(Param("fn", "str", "relu", ACTIVATIONS, aliases=ALIASES,
                         doc="also: " + ", ".join(ALIASES)),),
    module=_act_module, quiet=True, words=lambda a, cin, cout, out: str(a.get("fn", "relu")),
    look=lambda a, cin: "act", example="{op: act, fn: hswish}")
def _act(a, ins):
    """Element-wise activation; `none` is the identity. Aliases such as hswish and swish are accepted."""
    return tuple(ins[0])


def _prelu_count(a, ins) -> int:
    return a["num"] if a["num"] is not None else ins[0][0]


def _prelu_module(a, ins):
    from torch import nn

    return nn.PReLU(_prelu_count(a, ins), a["init"])


@op("prelu", params=(Param("num", "int", None, doc="slopes: 1 (one shared) or the input channels (default)", min=1),
                     Param("init", "float", 0.25, doc="initial slope")),
    count=_prelu_count, module=_prelu_module, formula=lambda a, ins, out, macs: f"{_prelu_count(a, ins)} = {macs:,}",
    look=lambda a, cin: "act",
    example="{op: prelu}   # or {op: prelu, num: 1}")
def _prelu(a, ins):
    """Parametric ReLU (nn.PReLU, ENet): a learned negative slope per channel, or one for all."""
    if a["num"] is not None and a["num"] not in (1, ins[0][0]):
        raise GraphError(f"prelu num={a['num']} must be 1 (one slope) or the input's {ins[0][0]} channels; "
                         f"leave num out for one slope per channel")
    return tuple(ins[0])


def _dropout_module(a, ins):
    from torch import nn

    return nn.Dropout(a["p"])


@op("dropout", carry=SAME, params=(Param("p", "float", 0.1),), module=_dropout_module, quiet=True,
    example="{op: dropout, p: 0.1}")
def _dropout(a, ins):
    """Dropout (identity at inference)."""
    if not 0 <= a["p"] < 1:
        raise GraphError(f"dropout p={a['p']} must be in [0, 1)")
    return tuple(ins[0])



def _norm_channels(ins, who, vector: bool = False) -> int:
    if len(ins[0]) not in ((1, 2, 3) if vector else (2, 3)):
        also = ", a C vector" if vector else ""
        raise GraphError(f"{who} needs a CxHxW map{also} or an LxC token sequence, got {list(ins[0])}")
    return channels(ins[0])


def _layernorm_module(a, ins):
    from torch import nn

    from archc.ops.modules import LayerNorm2d

    kind = LayerNorm2d if len(ins[0]) == 3 else nn.LayerNorm
    return kind(channels(ins[0]), eps=a["eps"], elementwise_affine=a["affine"])


def _affine_count(a, ins) -> int:
    return 2 * channels(ins[0]) if a["affine"] else 0


def _affine_formula(a, ins, out, macs) -> str:
    return f"2·{channels(ins[0])} = {macs:,}"


@op("layernorm", carry=Carry(same, "per_channel"), params=(Param("eps", "float", 1e-5, above=0.0),
                         Param("affine", "bool", True, doc="learned weight and bias")),
    count=_affine_count, module=_layernorm_module, formula=_affine_formula,
    example="{op: layernorm, eps: 0.000001}   # over channels: a map's per pixel, a sequence's per token")
def _layernorm(a, ins):
    """Layer normalization over the channels: an LxC token sequence's last dim or a C vector's
    (nn.LayerNorm; EfficientViT's classifier), or a CxHxW map's channels at each pixel (SegFormer's and
    ConvNeXt's LayerNorm2d). 2·C parameters."""
    _norm_channels(ins, "layernorm", vector=True)
    return tuple(ins[0])


def _groupnorm_module(a, ins):
    from torch import nn

    return nn.GroupNorm(a["groups"], ins[0][0], eps=a["eps"], affine=a["affine"])


@op("groupnorm", carry=Carry(groups_tied, "per_channel"), params=(Param("groups", "int", 32, min=1,
                                                                        doc="channel groups normalized together"),
                         Param("eps", "float", 1e-5, above=0.0), Param("affine", "bool", True)),
    count=_affine_count, module=_groupnorm_module, formula=_affine_formula,
    example="{op: groupnorm, groups: 8}   # smp FPN's segmentation blocks use 32")
def _groupnorm(a, ins):
    """Group normalization (nn.GroupNorm) of a CxHxW map: channels in `groups` groups, each normalized
    over its channels and pixels. 2·C parameters."""
    c = spatial(ins[0], "groupnorm")[0]
    if c % a["groups"]:
        raise GraphError(f"groupnorm groups={a['groups']} does not divide the input's {c} channels; "
                         f"use a divisor of {c}")
    return tuple(ins[0])


def _instancenorm_module(a, ins):
    from torch import nn

    return nn.InstanceNorm2d(ins[0][0], eps=a["eps"], affine=a["affine"])


@op("instancenorm", carry=Carry(same, "per_channel"), params=(Param("eps", "float", 1e-5, above=0.0),
                            Param("affine", "bool", False, doc="torch's default: none")),
    count=_affine_count, module=_instancenorm_module, formula=_affine_formula,
    example="{op: instancenorm, affine: true}")
def _instancenorm(a, ins):
    """Instance normalization (nn.InstanceNorm2d, no running statistics): each channel of each image
    over its pixels. 2·C parameters when affine, else none."""
    spatial(ins[0], "instancenorm")
    return tuple(ins[0])
