"""EfficientViT-B0 (Cai et al., ICCV 2023; MIT HAN Lab) in plain torch, written from the paper and these
facts of timm 1.0.31's `efficientvit_b0` (module names as timm's, so its state_dict loads by name):
widths 8/16/32/64/128, depths 1/2/2/2/2, head_dim 16, expansion 4, hardswish, BN eps 1e-5; the stem is
a 3x3 s2 conv + BN + act and one residual depthwise-separable block; a stage opens with a stride-2
MBConv (in the attention stages its 1x1 expansion and depthwise convs have biases and no BN) and
continues with residual MBConvs or with EfficientViT blocks: LiteMLA (qkv 1x1 conv without bias, a
multi-scale copy by a 5x5 depthwise conv and a 1x1 conv grouped by 3·heads, groups of 3·16 channels,
ReLU kernels, v padded with ones, q·(kᵀ·v) over its last column + 1e-5, 1x1 proj + BN) then a
fewer-norm MBConv, each added to its input. Head: 1x1 conv to 1024 + BN + act, global average pool,
linear 1024 -> 1280 without bias, layernorm, act, linear to the classes."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvNormAct(nn.Module):
    def __init__(self, cin, c, k=1, s=1, groups=1, bias=False, norm=True, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, c, k, s, k // 2, groups=groups, bias=bias)
        self.norm = nn.BatchNorm2d(c) if norm else nn.Identity()
        self.act = nn.Hardswish() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class DSConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.depth_conv = ConvNormAct(c, c, 3, groups=c)
        self.point_conv = ConvNormAct(c, c, act=False)

    def forward(self, x):
        return self.point_conv(self.depth_conv(x))


class MBConv(nn.Module):
    def __init__(self, cin, c, s=1, fewer_norm=False):
        super().__init__()
        h = 4 * cin
        self.inverted_conv = ConvNormAct(cin, h, bias=fewer_norm, norm=not fewer_norm)
        self.depth_conv = ConvNormAct(h, h, 3, s, groups=h, bias=fewer_norm, norm=not fewer_norm)
        self.point_conv = ConvNormAct(h, c, act=False)

    def forward(self, x):
        return self.point_conv(self.depth_conv(self.inverted_conv(x)))


class LiteMLA(nn.Module):
    def __init__(self, c, dim=16, eps=1e-5):
        super().__init__()
        heads, self.dim, self.eps = c // dim, dim, eps
        t = 3 * heads * dim
        self.qkv = ConvNormAct(c, t, norm=False, act=False)
        self.aggreg = nn.ModuleList([nn.Sequential(nn.Conv2d(t, t, 5, padding=2, groups=t, bias=False),
                                                   nn.Conv2d(t, t, 1, groups=3 * heads, bias=False))])
        self.kernel_func = nn.ReLU()
        self.proj = ConvNormAct(2 * heads * dim, c, act=False)

    def forward(self, x):
        b, _, h, w = x.shape
        qkv = self.qkv(x)
        groups = torch.cat([qkv, self.aggreg[0](qkv)], 1).reshape(b, -1, 3 * self.dim, h * w).transpose(-1, -2)
        q, k, v = groups.chunk(3, dim=-1)
        q, k, v = self.kernel_func(q), self.kernel_func(k), F.pad(v, (0, 1), value=1.0)
        out = q @ (k.transpose(-1, -2) @ v)
        out = out[..., :-1] / (out[..., -1:] + self.eps)
        return self.proj(out.transpose(-1, -2).reshape(b, -1, h, w))


class Residual(nn.Module):  # timm's ResidualBlock with an identity shortcut: the wrapped module as `main`
    def __init__(self, main):
        super().__init__()
        self.main = main

    def forward(self, x):
        return x + self.main(x)


class EfficientVitBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.context_module = Residual(LiteMLA(c))
        self.local_module = Residual(MBConv(c, c, fewer_norm=True))

    def forward(self, x):
        return self.local_module(self.context_module(x))


class Wrapped(nn.Module):  # a stage's first block: ResidualBlock without a shortcut
    def __init__(self, main):
        super().__init__()
        self.main = main

    def forward(self, x):
        return self.main(x)


class Stem(nn.Sequential):
    def __init__(self, c):
        super().__init__()
        self.in_conv = ConvNormAct(3, c, 3, 2)
        self.res0 = Residual(DSConv(c))


class Stage(nn.Module):
    def __init__(self, cin, c, vit):
        super().__init__()
        rest = [EfficientVitBlock(c), EfficientVitBlock(c)] if vit else [Residual(MBConv(c, c))]
        self.blocks = nn.Sequential(Wrapped(MBConv(cin, c, 2, fewer_norm=vit)), *rest)

    def forward(self, x):
        return self.blocks(x)


class Head(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.in_conv = ConvNormAct(cin, 1024)
        self.classifier = nn.Sequential(nn.Linear(1024, 1280, bias=False), nn.LayerNorm(1280), nn.Hardswish(),
                                        nn.Dropout(0.0), nn.Linear(1280, classes))

    def forward(self, x):
        return self.classifier(F.adaptive_avg_pool2d(self.in_conv(x), 1).flatten(1))


class EfficientViTB0(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.stem = Stem(8)
        self.stages = nn.Sequential(Stage(8, 16, False), Stage(16, 32, False), Stage(32, 64, True),
                                    Stage(64, 128, True))
        self.head = Head(128, classes)

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))
