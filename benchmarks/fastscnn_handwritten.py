"""Fast-SCNN written by hand in plain PyTorch, the way the thesis's users wrote their
models, to measure what archc's generated model costs against it.

Built from Zema 2022 (github.com/xolotl18/master_thesis, the thesis's table
and its description of the PPM, the feature fusion module and the classifier):
channels truncate int(c * a); bottlenecks always expand (t = 6) and use ReLU; the
DSConvs have no activation after the depthwise conv; the PPM pools to 1, 2, 4 and
8 bins, applies ONE shared 1x1 conv (no bias, no BN, ReLU) to each, upsamples
bilinearly (align_corners=True) and projects the concatenation (branches, then
the input) with 1x1 conv + BN + ReLU. Like the thesis, which hard-coded
AvgPool2d(16), (8), (4), (2) so that the PPM would export, the pools are fixed
windows computed from the input size (adaptive only where the bins do not divide).

It takes the thesis's knobs -- width a, expansion t, repeats r, PPM pp, input
channels -- so tests/test_thesis_reference.py cross-checks archc's passes against
it. Unlike the thesis's code, pp=False does not build the PPM at all (the thesis
builds it and skips it, so its tables keep counting its parameters).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def cbr(cin: int, cout: int, k: int = 1, s: int = 1, groups: int = 1, dilation: int = 1, act: bool = True):
    """conv (no bias) + BN (+ ReLU)."""
    pad = dilation * (k - 1) // 2
    layers = [nn.Conv2d(cin, cout, k, s, pad, dilation, groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([nn.ReLU()] if act else []))


def dsconv(cin: int, cout: int, s: int = 1):
    return nn.Sequential(cbr(cin, cin, 3, s, groups=cin, act=False), cbr(cin, cout))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, s: int, t: int = 6):
        super().__init__()
        hidden = cin * t
        self.body = nn.Sequential(cbr(cin, hidden), cbr(hidden, hidden, 3, s, groups=hidden),
                                  cbr(hidden, cout, act=False))
        self.residual = s == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def pool(size: int, bins: int) -> nn.Module:
    return nn.AvgPool2d(size // bins) if size % bins == 0 else nn.AdaptiveAvgPool2d(bins)


class PyramidPooling(nn.Module):
    def __init__(self, c: int, size: int, bins=(1, 2, 4, 8)):
        super().__init__()
        self.pools = nn.ModuleList(pool(size, b) for b in bins)
        self.reduce = nn.Sequential(nn.Conv2d(c, c // 4, 1, bias=False), nn.ReLU())  # shared by every bin
        self.project = cbr(2 * c, c)

    def forward(self, x):
        size = x.shape[2:]
        branches = [F.interpolate(self.reduce(pool(x)), size=size, mode="bilinear", align_corners=True)
                    for pool in self.pools]
        return self.project(torch.cat([*branches, x], 1))


class FastSCNN(nn.Module):
    def __init__(self, classes: int = 1, a: float = 1.0, size: int = 512, t: int = 6, r: int = 3, pp: bool = True,
                 in_ch: int = 3):
        super().__init__()
        c = lambda n: int(n * a)  # noqa: E731 - the thesis truncates
        self.downsample = nn.Sequential(cbr(in_ch, c(32), 3, 2), dsconv(c(32), c(48), 2), dsconv(c(48), c(64), 2))
        blocks, cin = [], c(64)
        for cout, s in ((c(64), 2), (c(96), 2), (c(128), 1)):
            blocks += [InvertedResidual(cin, cout, s, t)] + [InvertedResidual(cout, cout, 1, t) for _ in range(r - 1)]
            cin = cout
        self.features = nn.Sequential(*blocks, *([PyramidPooling(c(128), size // 32)] if pp else []))
        self.fuse_low = nn.Sequential(cbr(c(128), c(128), 3, groups=c(128), dilation=4),
                                      nn.Conv2d(c(128), c(128), 1))
        self.fuse_high = nn.Conv2d(c(64), c(128), 1)
        self.head = nn.Sequential(dsconv(c(128), c(128)), dsconv(c(128), c(128)), nn.Dropout(0.1),
                                  nn.Conv2d(c(128), classes, 1))

    def forward(self, x):
        high = self.downsample(x)
        low = F.interpolate(self.features(high), scale_factor=4, mode="bilinear", align_corners=True)
        fused = F.relu(self.fuse_high(high) + self.fuse_low(low))
        return F.interpolate(self.head(fused), scale_factor=8, mode="bilinear", align_corners=True)
