"""What a primitive is, in words a class can read: a conv's kind (dense, depthwise, pointwise,
grouped), kernel, stride, dilation, groups and channels; other ops with their telling attributes.
The words are each op's registry entry's (`words`, `look`: archc/ops); shared by `graph --expand` and
`archc report`."""
from __future__ import annotations

from archc.ops import OPS

KINDS = ("dense", "depthwise", "pointwise", "grouped")  # conv kinds, drawn apart
COLORS = {"dense": "#c6dbef", "depthwise": "#fdd0a2", "pointwise": "#c7e9c0", "grouped": "#dadaeb",
          "norm": "#f0f0f0", "act": "#f7f7f7", "input": "#ffffff", "other": "#fff7bc"}


def kind(op: str, attrs: dict, in_shapes) -> str:
    """The colour class of a primitive (its registry entry's `look`)."""
    spec_op = OPS.get(op)
    return spec_op.look(attrs, in_shapes[0][0] if in_shapes and in_shapes[0] else 0) if spec_op is not None else "other"


def describe(op: str, attrs: dict, in_shapes, out) -> str:
    """One short line: 'dw conv 3x3 /2  32→32', 'pw conv 1x1  32→48', 'relu', 'resize x8 bilinear'
    (its registry entry's `words`; the op's name where it has none)."""
    cin = in_shapes[0][0] if in_shapes and in_shapes[0] else 0
    cout = out[0] if out else 0
    spec_op = OPS.get(op)
    return spec_op.words(attrs, cin, cout, out) if spec_op is not None and spec_op.words is not None else op
