"""PIDNet-S (Xu et al., CVPR 2023) in plain torch, written from the paper's figures and the facts of
the authors' code (github XuJiacong/PIDNet, models/pidnet.py, inference model), without archc.
Layers are created in the order the forward pass uses them, so weights copy by order."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin, cout, k=1, s=1, groups=1, bias=False) -> list:
    return [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=bias), nn.BatchNorm2d(cout)]


def pre_act(cin, cout, k=1, groups=1, bias=False) -> nn.Sequential:
    """BN, ReLU, conv (the head's and the pyramid pooling's order)."""
    return nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, k, 1, k // 2, groups=groups, bias=bias))


class Residual(nn.Module):
    """A residual body plus the input (or its 1x1 projection when the stride or width changes)."""

    def __init__(self, body: list, cin, cout, s=1, relu=True):
        super().__init__()
        self.body = nn.Sequential(*body)
        self.short = nn.Sequential(*conv_bn(cin, cout, 1, s)) if s != 1 or cin != cout else nn.Identity()
        self.relu = relu

    def forward(self, x):
        y = self.body(x) + self.short(x)
        return F.relu(y) if self.relu else y


def basic(cin, cout, s=1, relu=True) -> Residual:
    return Residual([*conv_bn(cin, cout, 3, s), nn.ReLU(), *conv_bn(cout, cout, 3)], cin, cout, s, relu)


def bottleneck(cin, cout, s=1) -> Residual:
    mid = cout // 2
    body = [*conv_bn(cin, mid), nn.ReLU(), *conv_bn(mid, mid, 3, s), nn.ReLU(), *conv_bn(mid, cout)]
    return Residual(body, cin, cout, s, relu=False)


def up(x, like):
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class PAPPM(nn.Module):
    def __init__(self, cin, mid, cout):
        super().__init__()
        self.base = pre_act(cin, mid)
        self.pools = nn.ModuleList([nn.AvgPool2d(k, k // 2, k // 2) for k in (5, 9, 17)] + [nn.AdaptiveAvgPool2d(1)])
        self.convs = nn.ModuleList([pre_act(cin, mid) for _ in range(4)])
        self.process = pre_act(4 * mid, 4 * mid, 3, groups=4)
        self.compress = pre_act(5 * mid, cout)
        self.short = pre_act(cin, cout)

    def forward(self, x):
        b = self.base(x)
        scales = [up(conv(pool(x)), x) + b for pool, conv in zip(self.pools, self.convs)]
        return self.compress(torch.cat([b, self.process(torch.cat(scales, 1))], 1)) + self.short(x)


class Pag(nn.Module):
    """x kept where the attention is low, the upsampled y taken where it is high."""

    def __init__(self, c, mid):
        super().__init__()
        self.fy, self.fx = nn.Sequential(*conv_bn(c, mid)), nn.Sequential(*conv_bn(c, mid))

    def forward(self, x, y):
        q = up(self.fy(y), x)
        att = torch.sigmoid((self.fx(x) * q).sum(1, keepdim=True))
        return (1 - att) * x + att * up(y, x)


class LightBag(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cp, self.ci = nn.Sequential(*conv_bn(c, c)), nn.Sequential(*conv_bn(c, c))

    def forward(self, p, i, d):
        e = torch.sigmoid(d)
        return self.cp((1 - e) * i + p) + self.ci(i + e * p)


class PIDNetS(nn.Module):
    def __init__(self, classes=19, w=32, ppm=96, head=128):
        """w: the stem's channels (planes); ppm: the pyramid pooling's branches; head: the head's."""
        super().__init__()
        self.stem = nn.Sequential(*conv_bn(3, w, 3, 2, bias=True), nn.ReLU(), *conv_bn(w, w, 3, 2, bias=True), nn.ReLU())
        self.l1 = nn.Sequential(basic(w, w), basic(w, w, relu=False))
        self.l2 = nn.Sequential(basic(w, 2 * w, 2), basic(2 * w, 2 * w, relu=False))
        self.p3 = nn.Sequential(basic(2 * w, 2 * w), basic(2 * w, 2 * w, relu=False))
        self.d3 = basic(2 * w, w, relu=False)
        self.l3 = nn.Sequential(basic(2 * w, 4 * w, 2), basic(4 * w, 4 * w), basic(4 * w, 4 * w, relu=False))
        self.c3, self.pag3 = nn.Sequential(*conv_bn(4 * w, 2 * w)), Pag(2 * w, w)
        self.diff3 = nn.Sequential(*conv_bn(4 * w, w, 3))
        self.l4 = nn.Sequential(basic(4 * w, 8 * w, 2), basic(8 * w, 8 * w), basic(8 * w, 8 * w, relu=False))
        self.p4 = nn.Sequential(basic(2 * w, 2 * w), basic(2 * w, 2 * w, relu=False))
        self.d4 = bottleneck(w, 2 * w)
        self.c4, self.pag4 = nn.Sequential(*conv_bn(8 * w, 2 * w)), Pag(2 * w, w)
        self.diff4 = nn.Sequential(*conv_bn(8 * w, 2 * w, 3))
        self.p5, self.d5 = bottleneck(2 * w, 4 * w), bottleneck(2 * w, 4 * w)
        self.l5 = nn.Sequential(bottleneck(8 * w, 16 * w, 2), bottleneck(16 * w, 16 * w))
        self.ppm = PAPPM(16 * w, ppm, 4 * w)
        self.bag = LightBag(4 * w)
        self.head = nn.Sequential(pre_act(4 * w, head, 3), pre_act(head, classes, bias=True))

    def forward(self, x):
        x = F.relu(self.l2(F.relu(self.l1(self.stem(x)))))
        p, d = self.p3(x), self.d3(x)
        x = F.relu(self.l3(x))
        p = self.pag3(p, self.c3(x))
        d = d + up(self.diff3(x), d)
        x = F.relu(self.l4(x))
        p, d = self.p4(F.relu(p)), self.d4(F.relu(d))
        p = self.pag4(p, self.c4(x))
        d = d + up(self.diff4(x), d)
        p, d = self.p5(F.relu(p)), self.d5(F.relu(d))
        i = up(self.ppm(self.l5(x)), p)
        return self.head(self.bag(p, i, d))
