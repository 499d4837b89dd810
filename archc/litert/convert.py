"""PyTorch -> fp32 .tflite through litert-torch (torch.export, then StableHLO, then the TFLite
converter), the model's input kept N×C×H×W as archc's API has it.

One lowering is changed for the converter, computing the same function: a transposed conv with
output padding (ENet's and ERFNet's `deconv k:3 s:2 p:1 output_padding:1`) becomes a transposed
conv without padding whose output is cropped, since the converter cannot legalize the asymmetric
padding the first gives ('mhlo.convolution ... lhs_dilation'). ONNX keeps the one ConvTranspose.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

from archc.errors import ExportError
from archc.litert import require


def convertible(module):
    """A copy of `module` in which each ConvTranspose2d with output padding is a CroppedDeconv."""
    import torch.nn as nn

    if not any(isinstance(m, nn.ConvTranspose2d) and any(m.output_padding) for m in module.modules()):
        return module
    module = copy.deepcopy(module)
    for name, child in list(module.named_modules()):
        for key, sub in list(child.named_children()):
            if isinstance(sub, nn.ConvTranspose2d) and any(sub.output_padding) and _croppable(sub):
                setattr(child, key, CroppedDeconv(sub))
    return module


def _croppable(m) -> bool:
    """The cropped window lies inside the unpadded output when output_padding <= padding."""
    return all(op <= p for op, p in zip(m.output_padding, m.padding)) and m.padding_mode == "zeros"


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
    x = torch.zeros(1, *shape)
    try:
        with quiet(), quiet_fd():
            import litert_torch

            litert_torch.convert(module, (x,)).export(str(path))
    except Exception as exc:  # torch.export, the lowering and the converter raise many types
        raise ExportError(refusal(name, exc)) from None
    return Path(path)


def refusal(name: str, exc: Exception) -> str:
    """The converter's error as one line naming the op it could not convert."""
    text = str(exc)
    op = (re.search(r"failed to legalize operation '([\w.]+)'", text) or re.search(r"target=torch\.ops\.(aten\.\w+)", text)
          or re.search(r"'((?:tfl|mhlo|stablehlo)\.\w+)' op", text))
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)[:200]
    why = (f"the converter cannot lower op '{op.group(1)}'" + ("" if op.group(1) in first else f" ({first})")
           if op else f"{type(exc).__name__}: {first}")
    return (f"LiteRT conversion of '{name}' failed: {why}; the ONNX build (--format onnx) is unaffected "
            f"(docs/export.md lists which specs convert)")
