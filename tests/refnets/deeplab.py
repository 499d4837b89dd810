"""DeepLabV3+ (Chen et al. 2018) on MobileNetV2: low-level features after features[:4] (24 ch,
stride 4), high-level after the 320-ch block; ASPP (Chen et al. 2017) with a 1x1 branch, three 3x3
branches dilated 6/12/18 and image pooling, 256 ch each, projected 1x1 to 256; decoder 1x1 to 48,
concat with the upsampled ASPP, 3x3 to 256, 1x1 to classes, bilinear upsampling to the input."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .mobilenet import MobileNetV2


def cbr(cin, cout, k=1, d=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=(k - 1) // 2 * d, dilation=d, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())


class ASPP(nn.Module):
    def __init__(self, cin, c=256, rates=(6, 12, 18)):
        super().__init__()
        self.branches = nn.ModuleList([cbr(cin, c)] + [cbr(cin, c, 3, r) for r in rates])
        self.pool = cbr(cin, c)
        self.project = cbr(c * (len(rates) + 2), c)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        pooled = F.interpolate(self.pool(F.adaptive_avg_pool2d(x, 1)), size=x.shape[2:], mode="bilinear",
                               align_corners=False)
        return self.dropout(self.project(torch.cat([b(x) for b in self.branches] + [pooled], 1)))


class DeepLabV3PlusMobileNetV2(nn.Module):
    def __init__(self, classes=21):
        super().__init__()
        self.backbone = MobileNetV2(last=False).features
        self.aspp = ASPP(320)
        self.low = cbr(24, 48)
        self.fuse = cbr(48 + 256, 256, 3)
        self.classifier = nn.Conv2d(256, classes, 1)

    def forward(self, x):
        low = self.backbone[:4](x)
        high = self.aspp(self.backbone[4:](low))
        skip = self.low(low)
        high = F.interpolate(high, size=low.shape[2:], mode="bilinear", align_corners=False)
        out = self.classifier(self.fuse(torch.cat([skip, high], 1)))
        return F.interpolate(out, size=x.shape[2:], mode="bilinear", align_corners=False)
