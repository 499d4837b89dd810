"""What a primitive is, in words a class can read: a conv's kind (dense, depthwise, pointwise,
grouped), kernel, stride, dilation, groups and channels; other ops with their telling attributes.
Shared by `graph --expand` and `archc report`."""
from __future__ import annotations

KINDS = ("dense", "depthwise", "pointwise", "grouped")  # conv kinds, drawn apart
COLORS = {"dense": "#c6dbef", "depthwise": "#fdd0a2", "pointwise": "#c7e9c0", "grouped": "#dadaeb",
          "norm": "#f0f0f0", "act": "#f7f7f7", "input": "#ffffff", "other": "#fff7bc"}


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def _kxk(v) -> str:
    a, b = _pair(v)
    return f"{a}x{b}" if a != b else f"{a}x{a}"


def conv_kind(attrs: dict, cin: int) -> str:
    """dense, depthwise (one filter per input channel), pointwise (1x1, ungrouped) or grouped."""
    g = attrs.get("groups", 1) or 1
    if g > 1:
        return "depthwise" if g == cin else "grouped"
    return "pointwise" if _pair(attrs.get("k", 1)) == (1, 1) else "dense"


def kind(op: str, attrs: dict, in_shapes) -> str:
    """The colour class of a primitive."""
    if op in ("conv", "deconv"):
        return conv_kind(attrs, in_shapes[0][0] if in_shapes else 0)
    return {"bn": "norm", "act": "act", "prelu": "act", "input": "input"}.get(op, "other")


def _conv(op: str, attrs: dict, cin: int, cout: int) -> str:
    k = conv_kind(attrs, cin)
    name = {"dense": "conv", "depthwise": "dw conv", "pointwise": "pw conv", "grouped": "group conv"}[k]
    if op == "deconv":
        name = "deconv" if k == "dense" else f"{k} deconv"
    parts = [f"{name} {_kxk(attrs.get('k', 1))}"]
    s, d, g = _pair(attrs.get("s", 1)), _pair(attrs.get("d", 1)), attrs.get("groups", 1) or 1
    if s != (1, 1):
        parts.append(f"/{s[0]}" if s[0] == s[1] else f"/{s[0]}x{s[1]}")
    if d != (1, 1):
        parts.append(f"d{d[0]}")
    if k == "grouped":
        parts.append(f"g{g}")
    return " ".join(parts) + f"  {cin}\u2192{cout}"


def describe(op: str, attrs: dict, in_shapes, out) -> str:
    """One short line: 'dw conv 3x3 /2  32→32', 'pw conv 1x1  32→48', 'relu', 'resize x8 bilinear'."""
    cin = in_shapes[0][0] if in_shapes and in_shapes[0] else 0
    cout = out[0] if out else 0
    if op in ("conv", "deconv"):
        return _conv(op, attrs, cin, cout)
    if op == "act":
        return str(attrs.get("fn", "relu"))
    if op == "bn":
        return f"batch norm {cout}"
    if op in ("maxpool", "avgpool"):
        return f"{op[:3]} pool {_kxk(attrs.get('k', 2))}" + (f" /{_pair(attrs['s'])[0]}" if attrs.get("s") else "")
    if op == "adaptive_avgpool":
        return f"avg pool to {_kxk(attrs.get('size', 1))}"
    if op == "resize":
        how = f"x{attrs['scale']:g}" if attrs.get("scale") else "to " + "x".join(map(str, out[1:]))
        return f"resize {how} {attrs.get('mode', 'bilinear')}"
    if op == "linear":
        return f"linear {cin}\u2192{cout}"
    if op == "input":
        return "input"
    return op
