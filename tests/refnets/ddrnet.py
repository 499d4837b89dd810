"""DDRNet-23-slim (Hong et al. 2021) in plain torch, written from the paper and these facts of the
authors' code (github ydhongHIT/DDRNet, segmentation/DDRNet_23_slim.py), with its module names and
registration order, so its state_dict has the authors' layout: planes 32, basic blocks [2, 2, 2, 2],
DAPPM branch 128, head 64; stem convs with bias; a layer's last basic block and every bottleneck end
without ReLU; each branch is ReLU'd where it is read; the low-to-high fusion reads stage 3's / 4's
output before the high-to-low fusion is added; DAPPM's pooled scales are registered before its base;
bilinear resizing (align_corners False); the output stays at 1/8."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin, c, k, s=1, relu=False):
    layers = [nn.Conv2d(cin, c, k, s, k // 2, bias=False), nn.BatchNorm2d(c)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


def bn_relu_conv(cin, c, k=1, bias=False):
    return nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, c, k, 1, k // 2, bias=bias))


class BasicBlock(nn.Module):
    def __init__(self, cin, c, s=1, relu=True):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, c, 3, s, 1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)
        self.downsample = conv_bn(cin, c, 1, s) if s != 1 or cin != c else None
        self.relu, self.last_relu = nn.ReLU(), relu  # a module, so torchinfo counts its outputs as the authors'

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        out = out + (self.downsample(x) if self.downsample is not None else x)
        return self.relu(out) if self.last_relu else out


class Bottleneck(nn.Module):
    def __init__(self, cin, planes, s=1):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, s, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = nn.Conv2d(planes, 2 * planes, 1, bias=False), nn.BatchNorm2d(2 * planes)
        self.downsample = conv_bn(cin, 2 * planes, 1, s)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))
        return self.bn3(self.conv3(out)) + self.downsample(x)


def layer(cin, c, n, s=1):
    return nn.Sequential(BasicBlock(cin, c, s), *[BasicBlock(c, c, relu=i < n - 2) for i in range(n - 1)])


class DAPPM(nn.Module):
    def __init__(self, cin, branch, c):
        super().__init__()
        for i, k in enumerate((5, 9, 17), 1):
            setattr(self, f"scale{i}", nn.Sequential(nn.AvgPool2d(k, k // 2, k // 2), *bn_relu_conv(cin, branch)))
        self.scale4 = nn.Sequential(nn.AdaptiveAvgPool2d(1), *bn_relu_conv(cin, branch))
        self.scale0 = bn_relu_conv(cin, branch)
        for i in range(1, 5):
            setattr(self, f"process{i}", bn_relu_conv(branch, branch, 3))
        self.compression = bn_relu_conv(5 * branch, c)
        self.shortcut = bn_relu_conv(cin, c)

    def forward(self, x):
        outs = [self.scale0(x)]
        for i in range(1, 5):
            up = F.interpolate(getattr(self, f"scale{i}")(x), size=x.shape[2:], mode="bilinear")
            outs.append(getattr(self, f"process{i}")(up + outs[-1]))
        return self.compression(torch.cat(outs, 1)) + self.shortcut(x)


class SegmentHead(nn.Module):
    def __init__(self, cin, mid, classes):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, mid, 3, 1, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(mid), nn.Conv2d(mid, classes, 1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.conv2(self.relu(self.bn2(self.conv1(self.relu(self.bn1(x))))))


class DDRNet23Slim(nn.Module):
    def __init__(self, classes=19, planes=32, spp=128, head=64):
        super().__init__()
        p, hi = planes, 2 * planes
        self.conv1 = nn.Sequential(nn.Conv2d(3, p, 3, 2, 1), nn.BatchNorm2d(p), nn.ReLU(),
                                   nn.Conv2d(p, p, 3, 2, 1), nn.BatchNorm2d(p), nn.ReLU())
        self.layer1, self.layer2 = layer(p, p, 2), layer(p, 2 * p, 2, 2)
        self.layer3, self.layer4 = layer(2 * p, 4 * p, 2, 2), layer(4 * p, 8 * p, 2, 2)
        self.compression3, self.compression4 = conv_bn(4 * p, hi, 1), conv_bn(8 * p, hi, 1)
        self.down3 = conv_bn(hi, 4 * p, 3, 2)
        self.down4 = nn.Sequential(*conv_bn(hi, 4 * p, 3, 2, relu=True), *conv_bn(4 * p, 8 * p, 3, 2))
        self.layer3_, self.layer4_ = layer(2 * p, hi, 2), layer(hi, hi, 2)
        self.layer5_ = nn.Sequential(Bottleneck(hi, hi))
        self.layer5 = nn.Sequential(Bottleneck(8 * p, 8 * p, 2))
        self.spp = DAPPM(16 * p, spp, 4 * p)
        self.final_layer = SegmentHead(4 * p, head, classes)
        self.relu = nn.ReLU()

    def forward(self, x):
        size = (x.shape[2] // 8, x.shape[3] // 8)
        l2 = self.layer2(self.relu(self.layer1(self.conv1(x))))
        l3 = self.layer3(self.relu(l2))
        hi = self.layer3_(self.relu(l2))
        lo = l3 + self.down3(self.relu(hi))
        hi = hi + F.interpolate(self.compression3(self.relu(l3)), size=size, mode="bilinear")
        l4 = self.layer4(self.relu(lo))
        hi = self.layer4_(self.relu(hi))
        lo = l4 + self.down4(self.relu(hi))
        hi = hi + F.interpolate(self.compression4(self.relu(l4)), size=size, mode="bilinear")
        hi = self.layer5_(self.relu(hi))
        lo = F.interpolate(self.spp(self.layer5(self.relu(lo))), size=size, mode="bilinear")
        return self.final_layer(lo + hi)
