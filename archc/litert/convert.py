"""PyTorch -> fp32 .tflite through litert-torch (torch.export, then StableHLO, then the TFLite
converter), the model's input kept N×C×H×W as archc's API has it.

One lowering is changed for the converter, computing the same function: a transposed conv with
output padding (ENet's and ERFNet's `deconv k:3 s:2 p:1 output_padding:1`) becomes a transposed
conv without padding whose output is cropped, since the converter cannot legalize the asymmetric
padding the first gives ('mhlo.convolution ... lhs_dilation'). ONNX keeps the one ConvTranspose.
Likewise ENet's and SegNet's max-pooling with indices and max-unpooling: the converter gives the pool's
indices wrong (zeros) and its scatter becomes a BROADCAST_TO LiteRT cannot prepare, so a pool whose windows
tile the map (floor or ceil mode) is a reshape + argmax and its unpool a select between the repeated values
and zeros; a pool with indices whose windows overlap is refused, naming the op. And adaptive average
pooling whose bins do not divide the map (Fast-SCNN's PPM unless the input is a multiple of 256 px;
archc lowers the dividing case to AvgPool2d) is one matrix product with the averaging weights:
torch.export's gather-and-mask decomposition becomes 10 to 26 GATHER_ND / SELECT / BROADCAST_TO / SLICE
ops per pool that XNNPACK does not take, run by LiteRT's reference kernels between three delegated
partitions, with masks of C×bins×2×bins×2 floats constant-folded into the file (benchmarks/litert.md:
Fast-SCNN at 96 px).
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

from archc.errors import ExportError
from archc.litert import require
from archc.litert.compact import compact


def convertible(module):
    """A copy of `module` in which each ConvTranspose2d with output padding is a CroppedDeconv, each
    non-overlapping max_unpool2d a select_unpool and each AdaptiveAvgPool2d with fixed bins a MatmulPool
    (`module` itself when it has none of them)."""
    import torch.nn as nn

    if not any(isinstance(m, nn.ConvTranspose2d) and any(m.output_padding) or isinstance(m, nn.MaxPool2d)
               and m.return_indices or _fixed_bins(m) for m in module.modules()) \
            and not any(_unpools(m) for m in module.modules()):
        return module
    module = copy.deepcopy(module)
    for name, child in list(module.named_modules()):
        for key, sub in list(child.named_children()):
            if isinstance(sub, nn.ConvTranspose2d) and any(sub.output_padding) and _croppable(sub):
                setattr(child, key, CroppedDeconv(sub))
            if isinstance(sub, nn.MaxPool2d) and sub.return_indices and _tiled(sub):
                setattr(child, key, TiledMaxPool(sub))
            if _fixed_bins(sub):
                setattr(child, key, MatmulPool(sub))
        if _unpools(child):
            for node in _unpools(child):
                a = _unpool_args(node)
                k = a["kernel_size"]
                node.target, node.kwargs = select_unpool, {}
                node.args = (a["input"], a["indices"], k, a.get("stride") or k, 0, tuple(a["output_size"]))
            child.recompile()
    return module


def _unpools(module) -> list:
    """ENet's max_unpool2d calls whose windows do not overlap (kernel = stride, no padding), which
    the converter turns into a BROADCAST_TO that LiteRT cannot run."""
    import torch.fx
    import torch.nn.functional as F

    if not isinstance(module, torch.fx.GraphModule):
        return []
    found = []
    for n in module.graph.nodes:
        if n.op == "call_function" and n.target is F.max_unpool2d:
            a = _unpool_args(n)
            if _pair(a["kernel_size"]) == _pair(a.get("stride") or a["kernel_size"]) \
                    and not any(_pair(a.get("padding", 0))) and a.get("output_size") is not None:
                found.append(n)
    return found


def _unpool_args(node) -> dict:
    """A max_unpool2d call's arguments by name, however it was called."""
    return {**dict(zip(("input", "indices", "kernel_size", "stride", "padding", "output_size"), node.args)),
            **node.kwargs}


def select_unpool(x, indices, kernel_size, stride, padding, output_size):
    """max_unpool2d for non-overlapping windows without a scatter: each value and its index repeated
    over its window, kept where the index is that position, zeros elsewhere (the same values)."""
    import torch
    import torch.nn.functional as F

    stride = tuple(stride) if isinstance(stride, (tuple, list)) else (stride, stride)
    (n, c, h, w), (sh, sw), (oh, ow) = x.shape, stride, tuple(output_size)[-2:]

    def up(t, fill):
        t = t[:, :, :, None, :, None].expand(n, c, h, sh, w, sw).reshape(n, c, h * sh, w * sw)
        return F.pad(t, (0, ow - w * sw, 0, oh - h * sh), value=fill)[:, :, :oh, :ow]

    pos = torch.arange(oh * ow, dtype=torch.int32).reshape(1, 1, oh, ow)
    return torch.where(up(indices.to(torch.int32), -1) == pos, up(x, 0.0), torch.zeros((), dtype=x.dtype))


def _croppable(m) -> bool:
    """The cropped window lies inside the unpadded output when output_padding <= padding."""
    return all(op <= p for op, p in zip(m.output_padding, m.padding)) and m.padding_mode == "zeros"


def _tiled(m) -> bool:
    """Windows that tile the map: kernel = stride, no padding or dilation, floor or ceil mode (SegNet's
    Caffe pooling rounds up: the last window may hang over the edge)."""
    return (_pair(m.kernel_size) == _pair(m.stride or m.kernel_size) and not any(_pair(m.padding))
            and _pair(m.dilation) == (1, 1))


def TiledMaxPool(m):  # noqa: N802 - made on first use, as CroppedDeconv
    import torch
    import torch.nn as nn

    class _TiledMaxPool(nn.Module):
        """MaxPool2d(return_indices=True) over tiling windows as a reshape and an argmax: the converter
        gives max_pool2d_with_indices' indices as zeros. The same maxima; the same flat indices (the
        first maximum of a window, as torch picks it). Floor mode drops the rows and columns no window
        covers; ceil mode pads the last windows with -inf, which no value of the map loses to."""

        def __init__(self, pool):
            super().__init__()
            k = pool.kernel_size
            self.k, self.ceil = tuple(k) if isinstance(k, (tuple, list)) else (k, k), bool(pool.ceil_mode)

        def forward(self, x):
            (n, c, h, w), (kh, kw) = x.shape, self.k
            oh, ow = (-(-h // kh), -(-w // kw)) if self.ceil else (h // kh, w // kw)
            if oh * kh > h or ow * kw > w:
                x = torch.nn.functional.pad(x, (0, ow * kw - w, 0, oh * kh - h), value=float("-inf"))
            t = x[:, :, :oh * kh, :ow * kw].reshape(n, c, oh, kh, ow, kw).permute(0, 1, 2, 4, 3, 5)
            t = t.reshape(n, c, oh, ow, kh * kw)
            best, arg = t.max(-1)
            rows = torch.arange(oh, dtype=torch.int64).reshape(1, 1, oh, 1) * kh + torch.div(arg, kw,
                                                                                             rounding_mode="floor")
            cols = torch.arange(ow, dtype=torch.int64).reshape(1, 1, 1, ow) * kw + arg % kw
            return best, rows * w + cols

    return _TiledMaxPool(m)


def _fixed_bins(m) -> bool:
    """An AdaptiveAvgPool2d whose bins are all given (None keeps that axis' size: left as it is)."""
    import torch.nn as nn

    return isinstance(m, nn.AdaptiveAvgPool2d) and None not in _pair(m.output_size)


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def averaging(n: int, bins: int) -> list:
    """The bins×n matrix of adaptive average pooling along one axis, as rows: row i averages the
    pixels [floor(i·n/bins), ceil((i+1)·n/bins)), torch's windows (overlapping when bins > n)."""
    rows = []
    for i in range(bins):
        start, end = i * n // bins, -(-(i + 1) * n // bins)
        rows.append([1.0 / (end - start) if start <= j < end else 0.0 for j in range(n)])
    return rows


def MatmulPool(m):  # noqa: N802 - made on first use, as CroppedDeconv
    import torch.nn as nn

    class _MatmulPool(nn.Module):
        """AdaptiveAvgPool2d((bh, bw)) as one matrix product over the flattened map, by the (bh·bw)×(h·w)
        Kronecker product of each axis' averaging matrix, made from the map's (static) size when traced:
        the same values up to float rounding. One FULLY_CONNECTED op in LiteRT: two products (A_h·x·A_wᵀ)
        would share one constant when h = w, which ai-edge-quantizer's int8 then cannot quantize for both."""

        def __init__(self, pool):
            super().__init__()
            self.bins = _pair(pool.output_size)

        def forward(self, x):
            import torch

            (n, c, h, w), (bh, bw) = x.shape, self.bins  # constants in the exported graph
            rows, cols = averaging(h, bh), averaging(w, bw)
            k = torch.tensor([[a * b for a in r for b in q] for r in rows for q in cols], dtype=x.dtype)
            return (x.reshape(n, c, h * w) @ k.T).reshape(n, c, bh, bw)

    return _MatmulPool(m)


def _cropped_deconv():
    import torch.nn as nn
    import torch.nn.functional as F

    class CroppedDeconv(nn.Module):
        """ConvTranspose2d(padding=p, output_padding=op) as ConvTranspose2d(padding=0), rows and columns
        [p, p + out) kept: out = (H-1)s - 2p + d(k-1) + op + 1, the same values (bias included)."""

        def __init__(self, m):
            super().__init__()
            self.weight, self.bias = m.weight, m.bias
            self.stride, self.padding, self.dilation, self.groups = m.stride, m.padding, m.dilation, m.groups
            self.kernel_size, self.output_padding = m.kernel_size, m.output_padding

        def forward(self, x):
            y = F.conv_transpose2d(x, self.weight, self.bias, self.stride, 0, 0, self.groups, self.dilation)
            h, w = (((n - 1) * s - 2 * p + d * (k - 1) + op + 1) for n, s, p, d, k, op in
                    zip(x.shape[-2:], self.stride, self.padding, self.dilation, self.kernel_size, self.output_padding))
            return y[:, :, self.padding[0]:self.padding[0] + h, self.padding[1]:self.padding[1] + w]

    return CroppedDeconv


def CroppedDeconv(m):  # noqa: N802 - a class made on first use, so that importing this module needs no torch
    return _cropped_deconv()(m)


def convert(module, shape, path, name: str = "model") -> Path:
    """`module` (eval mode) -> one fp32 .tflite file at `path`, input 1×C×H×W float32."""
    require("litert_torch", what="--format tflite")
    import torch

    from archc.litert.interpreter import quiet_fd
    from archc.onnx.export import quiet

    module = convertible(module).eval()
    untiled(module, name)
    x = torch.zeros(1, *shape)
    try:
        with quiet(), quiet_fd():
            import litert_torch

            litert_torch.convert(module, (x,)).export(str(path))
    except Exception as exc:  # torch.export, the lowering and the converter raise many types
        raise ExportError(refusal(name, exc)) from None
    compact(Path(path))
    return Path(path)


def untiled(module, name: str) -> None:
    """Refuse a max-pool keeping indices that `convertible` could not rewrite (windows that overlap, padding,
    dilation): the converter lowers it without an error but gives wrong indices, so its unpool scatters wrong."""
    import torch.nn as nn

    for path, m in module.named_modules():
        if isinstance(m, nn.MaxPool2d) and m.return_indices:
            raise ExportError(f"LiteRT conversion of '{name}' failed: the converter gives op "
                              f"'aten.max_pool2d_with_indices' ({path}: kernel {m.kernel_size}, stride {m.stride}, "
                              f"padding {m.padding}) wrong indices; only windows that tile the map (kernel = stride, "
                              f"no padding or dilation) convert; the ONNX build (--format onnx) is unaffected")


def refusal(name: str, exc: Exception) -> str:
    """The converter's error as one line naming the op it could not convert."""
    text = str(exc)
    op = (re.search(r"failed to legalize operation '([\w.]+)'",
                    text) or re.search(r"target=torch\.ops\.(aten\.\w+)", text)
          or re.search(r"'((?:tfl|mhlo|stablehlo)\.\w+)' op", text))
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)[:200]
    why = (f"the converter cannot lower op '{op.group(1)}'" + ("" if op.group(1) in first else f" ({first})")
           if op else f"{type(exc).__name__}: {first}")
    return (f"LiteRT conversion of '{name}' failed: {why}; the ONNX build (--format onnx) is unaffected "
            f"(docs/export.md lists which specs convert)")
