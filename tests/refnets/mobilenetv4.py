"""MobileNetV4-Conv-Small and -Medium in plain torch, written from the paper (Qin et al., ECCV 2024,
the Universal Inverted Bottleneck and its instances) with timm's layout choices: ReLU,
BN eps 1e-5, hidden channels make_divisible(in * t, 8), the stride on the middle depthwise conv (on
the start one when there is no middle one), no residual around the plain conv rows, and a head
that pools before its 1x1 conv. BN and ReLU are separate modules (timm fuses them in BatchNormAct2d).
An independent reference for specs/mobilenetv4_conv_*.yaml: same weights in, same output out."""
from __future__ import annotations

import torch
from torch import nn

from .mobilenet import make_divisible


def conv_bn(cin, cout, k=1, s=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


class UIB(nn.Module):
    """[start dw kxk + BN] -> 1x1 expand + BN + ReLU -> [mid dw kxk + BN + ReLU] -> 1x1 project + BN."""

    def __init__(self, cin, cout, start_k, mid_k, t, s):
        super().__init__()
        hidden = make_divisible(cin * t)
        layers = [conv_bn(cin, cin, start_k, 1 if mid_k else s, cin, relu=False)] if start_k else []
        layers.append(conv_bn(cin, hidden, 1))
        if mid_k:
            layers.append(conv_bn(hidden, hidden, mid_k, s, hidden))
        layers.append(conv_bn(hidden, cout, 1, relu=False))
        self.body = nn.Sequential(*layers)
        self.skip = s == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.skip else self.body(x)


class FusedIB(nn.Module):
    """kxk conv expanding (carries the stride) + BN + ReLU -> 1x1 project + BN."""

    def __init__(self, cin, cout, t, s, k=3):
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, make_divisible(cin * t), k, s),
                                  conv_bn(make_divisible(cin * t), cout, 1, relu=False))
        self.skip = s == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.skip else self.body(x)


# ("conv", c, k, s) | ("fused", t, c, s) | ("uib", start_k, mid_k, t, c, s), one block each
SMALL = [("conv", 32, 3, 2), ("conv", 32, 1, 1), ("conv", 96, 3, 2), ("conv", 64, 1, 1),
         ("uib", 5, 5, 3, 96, 2)] + [("uib", 0, 3, 2, 96, 1)] * 4 + [
         ("uib", 3, 0, 4, 96, 1), ("uib", 3, 3, 6, 128, 2), ("uib", 5, 5, 4, 128, 1), ("uib", 0, 5, 4, 128, 1),
         ("uib", 0, 5, 3, 128, 1), ("uib", 0, 3, 4, 128, 1), ("uib", 0, 3, 4, 128, 1), ("conv", 960, 1, 1)]
MEDIUM = [("fused", 4, 48, 2), ("uib", 3, 5, 4, 80, 2), ("uib", 3, 3, 2, 80, 1),
          ("uib", 3, 5, 6, 160, 2), ("uib", 3, 3, 4, 160, 1), ("uib", 3, 3, 4, 160, 1), ("uib", 3, 5, 4, 160, 1),
          ("uib", 3, 3, 4, 160, 1), ("uib", 3, 0, 4, 160, 1), ("uib", 0, 0, 2, 160, 1), ("uib", 3, 0, 4, 160, 1),
          ("uib", 5, 5, 6, 256, 2), ("uib", 5, 5, 4, 256, 1), ("uib", 3, 5, 4, 256, 1), ("uib", 3, 5, 4, 256, 1),
          ("uib", 0, 0, 4, 256, 1), ("uib", 3, 0, 4, 256, 1), ("uib", 3, 5, 2, 256, 1), ("uib", 5, 5, 4, 256, 1),
          ("uib", 0, 0, 4, 256, 1), ("uib", 0, 0, 4, 256, 1), ("uib", 5, 0, 2, 256, 1), ("conv", 960, 1, 1)]


def block(cin, row):
    """The module for one table row and its output channels."""
    kind, *a = row
    if kind == "conv":
        return conv_bn(cin, a[0], a[1], a[2]), a[0]
    if kind == "fused":
        return FusedIB(cin, a[1], a[0], a[2]), a[1]
    return UIB(cin, a[3], a[0], a[1], a[2], a[4]), a[3]


class MobileNetV4(nn.Module):
    def __init__(self, table, classes=1000):
        super().__init__()
        layers, cin = [conv_bn(3, 32, 3, 2)], 32
        for row in table:
            m, cin = block(cin, row)
            layers.append(m)
        self.features = nn.Sequential(*layers)
        self.head = conv_bn(cin, 1280, 1)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(self.head(x), 1))


def mobilenetv4_conv_small(classes=1000):
    return MobileNetV4(SMALL, classes)


def mobilenetv4_conv_medium(classes=1000):
    return MobileNetV4(MEDIUM, classes)
