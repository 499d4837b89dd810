"""SegFormer-B0 (Xie et al. 2021) with segmentation-models-pytorch 0.6's choices, written from the
paper and these facts about smp's `Segformer(encoder_name="mit_b0")` (module names as smp's, so its
state_dict keys read the same): MiT-b0 with embed dims 32/64/160/256, depths 2/2/2/2, heads
1/2/5/8, sr 8/4/2/1, mlp ratio 4, q/kv biases; overlapping patch embeddings (7x7 s4 then 3x3 s2,
padding k//2, bias) + layernorm over channels (eps 1e-5); blocks' and stage-end layernorms eps 1e-6,
the spatial-reduction layernorm eps 1e-5; all-MLP decoder: a linear per stage to 256 (deepest first),
bilinear resize to stride 4 (align_corners False), concat, 1x1 conv + BN + ReLU; a 1x1 conv with
bias to the classes, upsampled x4 bilinearly with align_corners True."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DIMS, DEPTHS, HEADS, SR = (32, 64, 160, 256), (2, 2, 2, 2), (1, 2, 5, 8), (8, 4, 2, 1)


class LayerNorm(nn.LayerNorm):
    """Over the last dim of a sequence, or over the channels of an NCHW map."""

    def forward(self, x):
        if x.ndim == 4:
            n, c, h, w = x.shape
            return super().forward(x.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(n, c, h, w)
        return super().forward(x)


def to_map(x, h, w):
    return x.transpose(1, 2).reshape(x.shape[0], -1, h, w)


class Attention(nn.Module):
    def __init__(self, dim, heads, sr):
        super().__init__()
        self.heads, self.sr_ratio, self.scale = heads, sr, (dim // heads) ** -0.5
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if sr > 1:
            self.sr = nn.Conv2d(dim, dim, sr, sr)
            self.norm = LayerNorm(dim)

    def split(self, x):  # (B, L, C) -> (B, heads, L, C / heads)
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)

    def forward(self, x, h, w):
        src = self.norm(self.sr(to_map(x, h, w)).flatten(2).transpose(1, 2)) if self.sr_ratio > 1 else x
        k, v = self.kv(src).chunk(2, dim=-1)
        attn = (self.split(self.q(x)) @ self.split(k).transpose(-2, -1) * self.scale).softmax(-1)
        return self.proj((attn @ self.split(v)).transpose(1, 2).flatten(2))


class MixFFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Module()
        self.dwconv.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x, h, w):
        y = self.dwconv.dwconv(to_map(self.fc1(x), h, w)).flatten(2).transpose(1, 2)
        return self.fc2(self.act(y))


class Block(nn.Module):
    def __init__(self, dim, heads, sr):
        super().__init__()
        self.norm1 = LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, sr)
        self.norm2 = LayerNorm(dim, eps=1e-6)
        self.mlp = MixFFN(dim, 4 * dim)

    def forward(self, x):
        _, _, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        t = t + self.attn(self.norm1(t), h, w)
        t = t + self.mlp(self.norm2(t), h, w)
        return to_map(t, h, w)


class PatchEmbed(nn.Module):
    def __init__(self, cin, dim, k, s):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, k, s, k // 2)
        self.norm = LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.proj(x))


class MiT(nn.Module):
    def __init__(self):
        super().__init__()
        cin = 3
        for i, (dim, depth, heads, sr) in enumerate(zip(DIMS, DEPTHS, HEADS, SR), 1):
            setattr(self, f"patch_embed{i}", PatchEmbed(cin, dim, 7 if i == 1 else 3, 4 if i == 1 else 2))
            setattr(self, f"block{i}", nn.Sequential(*[Block(dim, heads, sr) for _ in range(depth)]))
            setattr(self, f"norm{i}", LayerNorm(dim, eps=1e-6))
            cin = dim

    def forward(self, x):
        feats = []
        for i in range(1, 5):
            x = getattr(self, f"norm{i}")(getattr(self, f"block{i}")(getattr(self, f"patch_embed{i}")(x)))
            feats.append(x)
        return feats


class MLP(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.linear = nn.Linear(cin, c)

    def forward(self, x):
        _, _, h, w = x.shape
        return to_map(self.linear(x.flatten(2).transpose(1, 2)), h, w)


class Decoder(nn.Module):
    def __init__(self, c=256):
        super().__init__()
        self.mlp_stage = nn.ModuleList([MLP(d, c) for d in reversed(DIMS)])
        self.fuse_stage = nn.Sequential(nn.Conv2d(4 * c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())

    def forward(self, feats):
        size = feats[0].shape[2:]
        ups = [F.interpolate(mlp(f), size=size, mode="bilinear", align_corners=False)
               for mlp, f in zip(self.mlp_stage, reversed(feats))]
        return self.fuse_stage(torch.cat(ups, dim=1))


class SegFormerB0(nn.Module):
    def __init__(self, classes=150):
        super().__init__()
        self.encoder = MiT()
        self.decoder = Decoder()
        self.segmentation_head = nn.Sequential(nn.Conv2d(256, classes, 1),
                                               nn.Upsample(scale_factor=4, mode="bilinear", align_corners=True))

    def forward(self, x):
        return self.segmentation_head(self.decoder(self.encoder(x)))
