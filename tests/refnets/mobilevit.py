"""MobileViT-XXS and -S (Mehta & Rastegari, ICLR 2022) in plain torch, written from the paper with the
choices of timm 1.0.31's `mobilevit_xxs` / `mobilevit_s` (module names as timm's, so its state_dict
keys read the same): SiLU everywhere, BN eps 1e-5; a 3x3 s2 stem to 16; inverted residuals (1x1
expand of the input by t, 3x3 depthwise carrying the stride, 1x1 linear projection; a residual at
stride 1 when in == out); MobileViT blocks: 3x3 conv + BN + SiLU, 1x1 conv to d (no bias), unfolded
into 2x2 patches (B·P x N x C, P = 4 pixel positions, N patches), pre-norm transformer layers (LayerNorm
eps 1e-5, 4 heads, one qkv linear with bias, MLP d -> 2d -> d with SiLU), a LayerNorm, folded back,
1x1 conv + BN + SiLU to the block's input channels, concatenated after the input, 3x3 conv + BN +
SiLU; a 1x1 conv + BN + SiLU to the head's features, global average pooling and a linear to 1000
classes. BN and SiLU are separate modules (timm fuses them in BatchNormAct2d)."""
from __future__ import annotations

import torch
from torch import nn

#               stem  stage channels          t   transformer d     depths     head
CONFIGS = {"xxs": (16, (16, 24, 48, 64, 80), 2, (64, 80, 96), (2, 4, 3), 320),
           "s": (16, (32, 64, 96, 128, 160), 4, (144, 192, 240), (2, 4, 3), 640)}
PATCH, HEADS = 2, 4


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k=1, s=1, groups=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, s, t):
        super().__init__()
        mid = cin * t
        self.conv1_1x1 = ConvBN(cin, mid)
        self.conv2_kxk = ConvBN(mid, mid, 3, s, mid)
        self.conv3_1x1 = ConvBN(mid, cout, act=False)
        self.skip = s == 1 and cin == cout

    def forward(self, x):
        y = self.conv3_1x1(self.conv2_kxk(self.conv1_1x1(x)))
        return x + y if self.skip else y


class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):  # (B, N, C)
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, HEADS, c // HEADS).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * (c // HEADS) ** -0.5).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, 2 * dim), nn.SiLU(), nn.Linear(2 * dim, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim)
        self.norm2, self.mlp = nn.LayerNorm(dim), Mlp(dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def unfold(x):
    """(B, C, H, W) -> (B·P, N, C): sequence p holds the pixels at position p of every 2x2 patch."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // PATCH, PATCH, w // PATCH, PATCH).permute(0, 3, 5, 2, 4, 1)
    return x.reshape(b * PATCH * PATCH, (h // PATCH) * (w // PATCH), c)


def fold(x, b, h, w):
    c = x.shape[-1]
    x = x.reshape(b, PATCH, PATCH, h // PATCH, w // PATCH, c).permute(0, 5, 3, 1, 4, 2)
    return x.reshape(b, c, h, w)


class MobileVitBlock(nn.Module):
    def __init__(self, cin, dim, depth):
        super().__init__()
        self.conv_kxk = ConvBN(cin, cin, 3)
        self.conv_1x1 = nn.Conv2d(cin, dim, 1, bias=False)
        self.transformer = nn.Sequential(*[Block(dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.conv_proj = ConvBN(dim, cin)
        self.conv_fusion = ConvBN(2 * cin, cin, 3)

    def forward(self, x):
        b, _, h, w = x.shape
        y = self.conv_1x1(self.conv_kxk(x))
        y = fold(self.norm(self.transformer(unfold(y))), b, h, w)
        return self.conv_fusion(torch.cat((x, self.conv_proj(y)), 1))


class Head(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


class MobileViT(nn.Module):
    def __init__(self, size="xxs", classes=1000):
        super().__init__()
        stem, chs, t, dims, depths, features = CONFIGS[size]
        self.stem = ConvBN(3, stem, 3, 2)
        stages, cin = [], stem
        for i, c in enumerate(chs):
            blocks = [InvertedResidual(cin if j == 0 else c, c, 2 if i and j == 0 else 1, t)
                      for j in range(3 if i == 1 else 1)]
            if i >= 2:
                blocks.append(MobileVitBlock(c, dims[i - 2], depths[i - 2]))
            stages.append(nn.Sequential(*blocks))
            cin = c
        self.stages = nn.Sequential(*stages)
        self.final_conv = ConvBN(cin, features)
        self.head = Head(features, classes)

    def forward(self, x):
        return self.head(self.final_conv(self.stages(self.stem(x))))
