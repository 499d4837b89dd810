"""LR-ASPP (Howard et al. 2019, section 6.3) on MobileNetV3-Large with torchvision's segmentation
choices: the backbone at output stride 16 (the last stride-2 bneck and the two after it run at stride
1 with dilation 2), low-level features after the fourth bneck (the first at 40 ch, stride 8), high-level after the
960-ch conv. Head: 1x1 conv 128 + BN + ReLU times a sigmoid gate from global pooling and a bias-free
1x1 conv, upsampled bilinearly to the low level; a 1x1 classifier on each level, summed, upsampled."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .mobilenet import V3_LARGE, Bneck, ConvBNAct


def dilated_v3_large():
    layers, cin = [ConvBNAct(3, 16, 3, 2, act=nn.Hardswish, eps=1e-3)], 16
    for i, (k, exp, c, se, act, s) in enumerate(V3_LARGE):
        late = i >= len(V3_LARGE) - 3  # the stride-2 bneck to 160 ch and the two after it
        layers.append(Bneck(cin, k, exp, c, se, act, 1 if late else s, 2 if late else 1))
        cin = c
    layers.append(ConvBNAct(cin, 960, 1, act=nn.Hardswish, eps=1e-3))
    return nn.Sequential(*layers)


class LRASPP(nn.Module):
    def __init__(self, classes=21):
        super().__init__()
        self.backbone = dilated_v3_large()
        self.cbr = nn.Sequential(nn.Conv2d(960, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU())
        self.scale = nn.Conv2d(960, 128, 1, bias=False)
        self.low_classifier = nn.Conv2d(40, classes, 1)
        self.high_classifier = nn.Conv2d(128, classes, 1)

    def forward(self, x):
        low = self.backbone[:5](x)
        high = self.backbone[5:](low)
        y = self.cbr(high) * self.scale(F.adaptive_avg_pool2d(high, 1)).sigmoid()
        y = F.interpolate(y, size=low.shape[2:], mode="bilinear", align_corners=False)
        y = self.low_classifier(low) + self.high_classifier(y)
        return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
