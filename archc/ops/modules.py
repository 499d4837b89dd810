"""The few torch modules the registry's lowerings need that torch does not ship. Imported only from
inside a lowering (torch is loaded there), never at validation or summary time."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an NCHW map (per pixel), as SegFormer's and ConvNeXt's: the
    map is viewed as a token sequence, normalized over its last dim, and viewed back. Parameters are
    nn.LayerNorm's (weight, bias), so a checkpoint of either loads; torchinfo counts it as nn.LayerNorm."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        y = F.layer_norm(x.flatten(2).transpose(1, 2), self.normalized_shape, self.weight, self.bias, self.eps)
        return y.transpose(1, 2).reshape(n, c, h, w)
