"""An independent Fast-SCNN in plain torch.nn, parameterised like the thesis's
knobs (width a, expansion t, repeats r, PPM on/off pp, input CxHxW), written
from the facts in REFERENCES.md §1 (Zema 2022; public code: github
xolotl18/master_thesis, models/experiments/fast_scnn_mod.py) to cross-check
archc's passes against. Differences from the thesis code, on purpose:
- with pp=0 the PPM is not built at all (the thesis builds it and skips it,
  so its tables count its parameters);
- the PPM pools adaptively to 1, 2, 4, 8 bins and upsamples to the map's size
  (the thesis hard-codes AvgPool2d(16/8/4/2) for a 16x16 map, so only 512x512
  inputs work there; at 512 the two are the same computation).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def ch(c: int, a: float) -> int:
    return int(c * a)  # the thesis truncates


def conv_bn(cin, cout, k=1, s=1, groups=1, dilation=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, s, dilation * (k - 1) // 2, dilation, groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


def dsconv(cin, cout, s):
    """Depthwise 3x3 + BN (no activation), pointwise 1x1 + BN + ReLU."""
    return nn.Sequential(conv_bn(cin, cin, 3, s, groups=cin, relu=False), conv_bn(cin, cout))


class Inverted(nn.Module):
    """MobileNetV2 bottleneck with ReLU; the thesis always expands."""

    def __init__(self, cin, cout, s, t):
        super().__init__()
        hidden = cin * t
        self.body = nn.Sequential(conv_bn(cin, hidden), conv_bn(hidden, hidden, 3, s, groups=hidden),
                                  conv_bn(hidden, cout, relu=False))
        self.residual = s == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class Pyramid(nn.Module):
    def __init__(self, c, bins=(1, 2, 4, 8)):
        super().__init__()
        self.bins = bins
        self.reduce = nn.Sequential(nn.Conv2d(c, c // 4, 1, bias=False), nn.ReLU())  # one conv, four uses
        self.project = conv_bn(c + len(bins) * (c // 4), c)

    def forward(self, x):
        size = x.shape[2:]
        outs = [F.interpolate(self.reduce(F.adaptive_avg_pool2d(x, b)), size=size, mode="bilinear",
                              align_corners=True) for b in self.bins]
        return self.project(torch.cat(outs + [x], 1))


class FastSCNN(nn.Module):
    def __init__(self, a=1.0, t=6, r=3, pp=True, in_ch=3, classes=1):
        super().__init__()
        c32, c48, c64, c96, c128 = (ch(c, a) for c in (32, 48, 64, 96, 128))
        self.ltd = nn.Sequential(conv_bn(in_ch, c32, 3, 2), dsconv(c32, c48, 2), dsconv(c48, c64, 2))
        blocks = []
        for cin, cout, s in ((c64, c64, 2), (c64, c96, 2), (c96, c128, 1)):
            blocks += [Inverted(cin, cout, s, t)] + [Inverted(cout, cout, 1, t) for _ in range(r - 1)]
        self.gfe = nn.Sequential(*blocks, *([Pyramid(c128)] if pp else []))
        self.low_dw = conv_bn(c128, c128, 3, groups=c128, dilation=4)
        self.low_pw = nn.Conv2d(c128, c128, 1)
        self.high_pw = nn.Conv2d(c64, c128, 1)
        self.head = nn.Sequential(dsconv(c128, c128, 1), dsconv(c128, c128, 1), nn.Dropout(0.1),
                                  nn.Conv2d(c128, classes, 1))

    def forward(self, x):
        high = self.ltd(x)
        low = F.interpolate(self.gfe(high), scale_factor=4, mode="bilinear", align_corners=True)
        fused = F.relu(self.high_pw(high) + self.low_pw(self.low_dw(low)))
        return F.interpolate(self.head(fused), scale_factor=8, mode="bilinear", align_corners=True)
