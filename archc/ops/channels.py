"""Channel ranges: slice, split / chunk (one slice per part) and zero channel padding."""
from __future__ import annotations

import operator

from archc.ops.carry import Carry, sliced
from archc.errors import GraphError
from archc.ops.core import Param, op, spatial


def _slice_call(ctx, node, args):
    a = node.attrs
    cut = slice(a["start"], a["end"])
    where = (Ellipsis, cut) if len(node.shape) == 2 or a["last"] else (slice(None), cut)
    return ctx.fg.call_function(operator.getitem, (args[0], where))


def _channels(shape, who) -> int:
    """The channels of a map (C of CxHxW) or of a token sequence (C of LxC)."""
    return shape[1] if len(shape) == 2 else spatial(shape, who)[0]


@op("slice", carry=Carry(sliced, known=lambda node: len(node.shape) != 3),  # a map's or heads': no checked rule yet
    params=(Param("start", "int", 0, doc="first channel", min=0),
            Param("end", "int", None, doc="one past the last channel (default: all)", min=1),
            Param("last", "bool", False, doc="slice the last dim: a heads tensor's per-head channels")),
    call=_slice_call, part=True, example="{op: slice, start: 0, end: 8}   # ShuffleNetV2: the first half")
def _slice(a, ins):
    """Channels start..end-1 of the input (x[:, start:end]; of a token sequence x[..., start:end]);
    ShuffleNetV2 keeps one half, convolves the other. `last: true` slices the last dim of any tensor
    (x[..., start:end]): EfficientViT cuts each head's q, k and v apart."""
    if a["last"] and len(ins[0]) > 1:
        c = ins[0][-1]
        if not 0 <= a["start"] < (c if a["end"] is None else a["end"]) <= c:
            raise GraphError(f"slice {a['start']}:{a['end']} is not a range of the last dim's {c} entries; "
                             f"use 0 <= start < end <= {c}")
        return (*ins[0][:-1], (c if a["end"] is None else a["end"]) - a["start"])
    c = _channels(ins[0], "slice")
    end = c if a["end"] is None else a["end"]
    if not 0 <= a["start"] < end <= c:
        raise GraphError(f"slice {a['start']}:{end} is not a channel range of the input's {c} channels; "
                         f"use 0 <= start < end <= {c}")
    if len(ins[0]) == 2:
        return (ins[0][0], end - a["start"])
    return (end - a["start"], *ins[0][1:])


def _sizes(a, c: int) -> list:
    """The part sizes of a split: `sizes` as given, or `chunks` equal parts."""
    if (a["sizes"] is None) == (a["chunks"] is None):
        raise GraphError("split takes either `sizes: [c1, c2, ...]` or `chunks: N`, not both or neither")
    if a["chunks"] is not None:
        if c % a["chunks"]:
            raise GraphError(f"split chunks={a['chunks']} does not divide the input's {c} channels")
        return [c // a["chunks"]] * a["chunks"]
    sizes = a["sizes"]
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise GraphError(f"split sizes {sizes} must be two or more positive channel counts")
    if sum(sizes) != c:
        raise GraphError(f"split sizes {sizes} add up to {sum(sizes)}, not the input's {c} channels")
    return sizes


def _parts(a, shape) -> list:
    bounds, start = [], 0
    for size in _sizes(a, _channels(shape, "split")):
        bounds.append({"start": start, "end": start + size})
        start += size
    return bounds


@op("split", params=(Param("sizes", "list", None, doc="channels of each part"),
                     Param("chunks", "int", None, doc="or: this many equal parts", min=1)),
    parts=_parts, example="{id: halves, op: split, chunks: 2}   # then from: halves.0, halves.1")
def _split(a, ins):
    """Split the channels into parts (torch.split / torch.chunk): one `slice` node per part, named
    ID.0, ID.1, ...; `from: ID` reads all parts, `from: ID.1` one of them."""
    _sizes(a, _channels(ins[0], "split"))
    return tuple(ins[0])


def _pad_call(ctx, node, args):
    import torch.nn.functional as F

    extra = node.shape[0] - ctx.shape(node.inputs[0])[0]
    return ctx.fg.call_function(F.pad, (args[0], (0, 0, 0, 0, 0, extra)))


@op("pad", params=(Param("c", "channels", doc="output channels: the input's, then zeros"),),
    call=_pad_call, example="{op: pad, c: 64}   # ENet: the main branch of a downsampling bottleneck")
def _pad(a, ins):
    """Zero channel padding: the input's channels followed by c - in_c channels of zeros."""
    cin = spatial(ins[0], "pad")[0]
    if a["c"] < cin:
        raise GraphError(f"pad c={a['c']} is fewer than the input's {cin} channels; padding only adds channels")
    return (a["c"], *ins[0][1:])


def _append_call(ctx, node, args):
    import torch.nn.functional as F

    return ctx.fg.call_function(F.pad, (args[0], (0, node.attrs["n"])), {"value": node.attrs["value"]})


@op("append", params=(Param("n", "int", 1, doc="entries added to the last dim", min=1),
                      Param("value", "float", 0.0, doc="their value")),
    call=_append_call, example="{op: append, n: 1, value: 1.0}   # EfficientViT: v's column of ones")
def _append(a, ins):
    """n constant entries after the last dim of a token sequence or heads tensor (F.pad(x, (0, n),
    value=value)): EfficientViT's linear attention appends ones to v, so that kᵀ·v also sums k."""
    if len(ins[0]) not in (2, 3):
        raise GraphError(f"append needs a sequence or a heads tensor, got {list(ins[0])}")
    return (*ins[0][:-1], ins[0][-1] + a["n"])
