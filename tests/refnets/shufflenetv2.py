"""ShuffleNetV2 in plain torch, written from the paper (Ma et al., ECCV 2018, Fig. 3c/d and Table 5)
with torchvision's layout choices (a BN after every conv, ReLU after the 1x1 convs only, the
stride-1 unit splitting the channels in halves, shuffle in 2 groups after the concatenation).
An independent reference for archc's specs/shufflenetv2.yaml: same weights in, same output out."""
from __future__ import annotations

import torch
from torch import nn

WIDTHS = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024), 1.5: (176, 352, 704, 1024),
          2.0: (244, 488, 976, 2048)}


def conv_bn(cin, cout, k, s=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


def shuffle(x, groups=2):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class Unit(nn.Module):
    """Stride 1: x = [a, b] by channels; out = shuffle([a, f(b)]). Stride 2: shuffle([g(x), f(x)])."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        half = cout // 2
        self.stride = stride
        if stride > 1:
            self.left = nn.Sequential(conv_bn(cin, cin, 3, stride, cin, relu=False), conv_bn(cin, half, 1))
        self.right = nn.Sequential(conv_bn(cin if stride > 1 else half, half, 1),
                                   conv_bn(half, half, 3, stride, half, relu=False), conv_bn(half, half, 1))

    def forward(self, x):
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            return shuffle(torch.cat([a, self.right(b)], 1))
        return shuffle(torch.cat([self.left(x), self.right(x)], 1))


class ShuffleNetV2(nn.Module):
    def __init__(self, x: float = 1.0, classes: int = 1000):
        super().__init__()
        *stages, last = WIDTHS[x]
        self.stem = nn.Sequential(conv_bn(3, 24, 3, 2), nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 24
        for c, repeats in zip(stages, (4, 8, 4)):
            blocks += [Unit(cin, c, 2)] + [Unit(c, c, 1) for _ in range(repeats - 1)]
            cin = c
        self.stages = nn.Sequential(*blocks)
        self.conv5 = conv_bn(cin, last, 1)
        self.fc = nn.Linear(last, classes)

    def forward(self, x):
        return self.fc(self.conv5(self.stages(self.stem(x))).mean([2, 3]))
