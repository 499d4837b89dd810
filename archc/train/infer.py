"""Inference at any image size: the whole image in one pass for a network that accepts any size, or
sliding windows of the network's input with a third of overlap (logits averaged where windows overlap)
for one with a fixed input; optionally the flipped image and several scales averaged too.

Which one a compiled spec gets (`auto`, `mode_of`): sliding windows when one of its nodes is lowered for the
build size only (an op with `size_bound` in archc/ops: resize, adaptive pooling, flatten, linear, max_unpool), else the
whole image. Without a graph (a bare module) `auto` tries the network: whole when it runs at the image's
size and keeps the output-to-input ratio it has at its own input, else sliding windows.

    logits = infer(module, x, window=(512, 1024), mode="auto", flip=True, scales=(0.75, 1.0, 1.25))
"""
from __future__ import annotations

import math
from fractions import Fraction

import torch
import torch.nn.functional as F

from archc.errors import ArchcError

MODES = ("auto", "whole", "slide")
OVERLAP = Fraction(1, 3)  # exact: 9 * (1 - 1/3) in floats is 6.000000000000001, whose ceiling is 7


def first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def sized(logits, size):
    logits = torch.as_tensor(logits)
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits.float(), tuple(size), mode="bilinear", align_corners=False)


def whole(net, x):
    return sized(first(net(x)), x.shape[-2:]).float()


def starts(size: int, window: int) -> list:
    """Window offsets along one side: a stride of 2/3 of the window, the last window flush with the end."""
    if size <= window:
        return [0]
    stride = max(1, math.ceil(window * (1 - OVERLAP)))
    out = list(range(0, size - window + 1, stride))
    return out if out[-1] == size - window else out + [size - window]


def slide(net, x, window: tuple):
    """Logits of N x C x H x W `x` from windows of `window` (H, W), the image padded with zeros (the mean
    colour, once normalised) at the bottom and right where it is smaller than a window."""
    (h, w), (wh, ww) = x.shape[-2:], window
    x = F.pad(x, (0, max(ww - w, 0), 0, max(wh - h, 0)))
    H, W = x.shape[-2:]
    total, count = None, torch.zeros(1, 1, H, W)
    for y in starts(H, wh):
        for left in starts(W, ww):
            out = whole(net, x[..., y:y + wh, left:left + ww])
            if total is None:
                total = torch.zeros(x.shape[0], out.shape[1], H, W)
            total[..., y:y + wh, left:left + ww] += out.cpu()
            count[..., y:y + wh, left:left + ww] += 1
    return (total / count)[..., :h, :w]


def mode_of(graph) -> str:
    """`slide` when a node of the graph is lowered for the build size only, else `whole`."""
    from archc.ops import OPS

    return "slide" if any(OPS[n.op].size_bound for n in graph) else "whole"


def accepts(net, window: tuple, size: tuple, channels: int, device="cpu") -> bool:
    """Whether `net` runs on a `size` image with an output in the ratio it has at `window`."""
    if tuple(size) == tuple(window):
        return True
    try:
        with torch.inference_mode():
            a = first(net(torch.zeros(1, channels, *window, device=device)))
            b = first(net(torch.zeros(1, channels, *size, device=device)))
    except Exception:  # noqa: BLE001 - any failure at that size (shape errors of all kinds) means: slide
        return False
    return all(abs(b.shape[-k] * window[-k] - a.shape[-k] * size[-k]) <= window[-k] for k in (1, 2))


def infer(net, x, window: tuple, mode: str = "whole", flip: bool = False, scales=(1.0,)):
    """Logits at x's size (N x K x H x W, on the CPU) with `mode` whole or slide; averaged over the scales
    and, with `flip`, over the mirrored image."""
    if mode not in ("whole", "slide"):
        raise ArchcError(f"--inference {mode}: choose one of {', '.join(MODES)}")
    size, total = x.shape[-2:], 0
    for s in scales:
        xs = x if s == 1 else F.interpolate(x, (round(size[0] * s), round(size[1] * s)), mode="bilinear",
                                            align_corners=False)
        views = (xs, xs.flip(-1)) if flip else (xs,)
        for k, v in enumerate(views):
            out = whole(net, v) if mode == "whole" else slide(net, v, window)
            out = sized(out.cpu(), size)
            total = total + (out.flip(-1) if k else out)
    return total / (len(scales) * (2 if flip else 1))
