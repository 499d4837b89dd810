"""MobileNetV2 (Sandler et al. 2018, Table 2) and MobileNetV3-Large/-Small (Howard et al. 2019,
Tables 1 and 2), with torchvision's conventions: make_divisible(c, 8) channels, BN eps 1e-5 (V2) /
1e-3 (V3), the V3 expansion skipped when exp equals the input, SE squeeze make_divisible(exp / 4, 8),
a hard-sigmoid gate. Module order follows the forward pass, as torchvision registers them."""
from __future__ import annotations

import torch
from torch import nn


def make_divisible(v: float, divisor: int = 8) -> int:
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class ConvBNAct(nn.Sequential):
    def __init__(self, cin, cout, k=3, s=1, groups=1, act=nn.ReLU6, eps=1e-5, d=1):
        layers = [nn.Conv2d(cin, cout, k, s, (k - 1) // 2 * d, dilation=d, groups=groups, bias=False),
                  nn.BatchNorm2d(cout, eps=eps)]
        super().__init__(*layers, *([act()] if act else []))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, s, t, d=1):
        super().__init__()
        hidden = cin * t
        layers = [ConvBNAct(cin, hidden, 1)] if t != 1 else []
        layers += [ConvBNAct(hidden, hidden, 3, s, hidden, d=d), nn.Conv2d(hidden, cout, 1, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = s == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


V2_TABLE = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
            (6, 320, 1, 1)]


class MobileNetV2(nn.Module):
    def __init__(self, classes=1000, last=True):
        super().__init__()
        layers, cin = [ConvBNAct(3, 32, 3, 2)], 32
        for t, c, n, s in V2_TABLE:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        if last:
            layers.append(ConvBNAct(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes)) if last else None

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class SqueezeExcitation(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)

    def forward(self, x):
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * nn.functional.hardsigmoid(self.fc2(nn.functional.relu(self.fc1(s))))


class Bneck(nn.Module):
    def __init__(self, cin, k, exp, cout, se, act, s, d=1):
        super().__init__()
        act = nn.Hardswish if act == "HS" else nn.ReLU
        layers = [ConvBNAct(cin, exp, 1, act=act, eps=1e-3)] if exp != cin else []
        layers.append(ConvBNAct(exp, exp, k, s, exp, act, 1e-3, d))
        if se:
            layers.append(SqueezeExcitation(exp, make_divisible(exp // 4)))
        layers.append(ConvBNAct(exp, cout, 1, act=None, eps=1e-3))
        self.block = nn.Sequential(*layers)
        self.residual = s == 1 and cin == cout

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


# (k, exp, c, se, act, s), the papers' Tables 1 and 2
V3_LARGE = [(3, 16, 16, 0, "RE", 1), (3, 64, 24, 0, "RE", 2), (3, 72, 24, 0, "RE", 1), (5, 72, 40, 1, "RE", 2),
            (5, 120, 40, 1, "RE", 1), (5, 120, 40, 1, "RE", 1), (3, 240, 80, 0, "HS", 2), (3, 200, 80, 0, "HS", 1),
            (3, 184, 80, 0, "HS", 1), (3, 184, 80, 0, "HS", 1), (3, 480, 112, 1, "HS", 1),
            (3, 672, 112, 1, "HS", 1), (5, 672, 160, 1, "HS", 2), (5, 960, 160, 1, "HS", 1),
            (5, 960, 160, 1, "HS", 1)]
V3_SMALL = [(3, 16, 16, 1, "RE", 2), (3, 72, 24, 0, "RE", 2), (3, 88, 24, 0, "RE", 1), (5, 96, 40, 1, "HS", 2),
            (5, 240, 40, 1, "HS", 1), (5, 240, 40, 1, "HS", 1), (5, 120, 48, 1, "HS", 1), (5, 144, 48, 1, "HS", 1),
            (5, 288, 96, 1, "HS", 2), (5, 576, 96, 1, "HS", 1), (5, 576, 96, 1, "HS", 1)]


class MobileNetV3(nn.Module):
    def __init__(self, table, last, hidden, classes=1000):
        super().__init__()
        layers, cin = [ConvBNAct(3, 16, 3, 2, act=nn.Hardswish, eps=1e-3)], 16
        for k, exp, c, se, act, s in table:
            layers.append(Bneck(cin, k, exp, c, se, act, s))
            cin = c
        layers.append(ConvBNAct(cin, last, 1, act=nn.Hardswish, eps=1e-3))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(last, hidden), nn.Hardswish(), nn.Dropout(0.2),
                                        nn.Linear(hidden, classes))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def mobilenet_v3_large(classes=1000):
    return MobileNetV3(V3_LARGE, 960, 1280, classes)


def mobilenet_v3_small(classes=1000):
    return MobileNetV3(V3_SMALL, 576, 1024, classes)
