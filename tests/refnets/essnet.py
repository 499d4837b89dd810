"""ESSNetB (Vallurupalli et al., "Efficient Semantic Segmentation using Gradual Grouping", CVPRW
2018): ERFNet's downsamplers and decoder around encoder stages of D layers, each a non-bottleneck
residual whose two factorised pairs are depthwise-separable 3x3 convs (the second dilated); with
groups > 1 the 1x1 convs are grouped (DGC), with shuffle a channel shuffle follows each (DGCS)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .erfnet import Downsampler, NonBottleneck1D, Upsampler


class SeparableConv(nn.Module):
    def __init__(self, c, d, groups, shuffle):
        super().__init__()
        self.depthwise = nn.Conv2d(c, c, 3, padding=d, dilation=d, groups=c, bias=True)
        self.pointwise = nn.Conv2d(c, c, 1, groups=groups, bias=True)
        self.groups = groups if shuffle else 1

    def forward(self, x):
        y = self.pointwise(F.relu(self.depthwise(x)))
        if self.groups == 1:
            return y
        n, c, h, w = y.shape  # ShuffleNet's channel shuffle
        return y.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class DLayer(nn.Module):
    def __init__(self, c, d, p, groups=1, shuffle=False):
        super().__init__()
        self.sep1, self.bn1 = SeparableConv(c, 1, groups, shuffle), nn.BatchNorm2d(c, eps=1e-3)
        self.sep2, self.bn2 = SeparableConv(c, d, groups, shuffle), nn.BatchNorm2d(c, eps=1e-3)
        self.dropout = nn.Dropout2d(p)

    def forward(self, x):
        y = self.bn2(self.sep2(F.relu(self.bn1(self.sep1(x)))))
        return F.relu(self.dropout(y) + x)


class ESSNetB(nn.Module):
    """early="d": D layers in both encoder stages (ESSNetB); "nbt": ERFNet's non-bottleneck-1D layers in
    the first (64-ch) stage and D layers only in the late 128-ch stage (ESSNetA, "selective application")."""

    def __init__(self, classes=20, groups=1, shuffle=False, early="d"):
        super().__init__()
        layers = [Downsampler(3, 16), Downsampler(16, 64)]
        layers += [DLayer(64, 1, 0.03, groups, shuffle) if early == "d" else NonBottleneck1D(64, 0.03, 1)
                   for _ in range(5)] + [Downsampler(64, 128)]
        layers += [DLayer(128, d, 0.3, groups, shuffle) for _ in range(2) for d in (2, 4, 8, 16)]
        self.encoder = nn.Sequential(*layers)
        self.decoder = nn.Sequential(Upsampler(128, 64), NonBottleneck1D(64, 0, 1), NonBottleneck1D(64, 0, 1),
                                     Upsampler(64, 16), NonBottleneck1D(16, 0, 1), NonBottleneck1D(16, 0, 1),
                                     nn.ConvTranspose2d(16, classes, 2, 2, 0, output_padding=0, bias=True))

    def forward(self, x):
        return self.decoder(self.encoder(x))


def ESSNetA(classes=20, groups=1, shuffle=False):
    return ESSNetB(classes, groups, shuffle, early="nbt")
