"""ENet in plain torch, written from the paper (Paszke et al. 2016, Table 1 and Sec. 3) and the
authors' Torch model's choices: BN eps 1e-3, one PReLU slope per channel in the encoder and ReLU in
the decoder, a 2x2 stride-2 projection in downsampling bottlenecks, a bias on the 3x3 (and the
second asymmetric) conv only, max-pool indices reused by the decoder's max-unpooling. Dropout
(identity at inference) is left out: it holds no weights."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-3


def act(c, decoder):
    return nn.ReLU() if decoder else nn.PReLU(c)


class Initial(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.act = nn.Conv2d(3, 13, 3, 2, 1), nn.BatchNorm2d(16, eps=EPS), nn.PReLU(16)

    def forward(self, x):
        return self.act(self.bn(torch.cat([self.conv(x), F.max_pool2d(x, 2)], 1)))


class Bottleneck(nn.Module):
    """kind: regular (dilation d), asymmetric (5x1 then 1x5) or down (stride 2, pooled main branch)."""

    def __init__(self, cin, c, kind="regular", d=1, decoder=False):
        super().__init__()
        i, s = c // 4, 2 if kind == "down" else 1
        self.down = kind == "down"
        mid = ([nn.Conv2d(i, i, (5, 1), padding=(2, 0), bias=False), nn.Conv2d(i, i, (1, 5), padding=(0, 2))]
               if kind == "asymmetric" else [nn.Conv2d(i, i, 3, padding=d, dilation=d)])
        self.ext = nn.Sequential(nn.Conv2d(cin, i, s, s, bias=False), nn.BatchNorm2d(i, eps=EPS), act(i, decoder),
                                 *mid, nn.BatchNorm2d(i, eps=EPS), act(i, decoder),
                                 nn.Conv2d(i, c, 1, bias=False), nn.BatchNorm2d(c, eps=EPS))
        self.out = act(c, decoder)
        self.c = c

    def forward(self, x):
        idx = None
        main = x
        if self.down:
            main, idx = F.max_pool2d(x, 2, return_indices=True)
            main = F.pad(main, (0, 0, 0, 0, 0, self.c - x.shape[1]))
        return self.out(main + self.ext(x)), idx


class Upsample(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        i = c // 4
        self.main = nn.Sequential(nn.Conv2d(cin, c, 1, bias=False), nn.BatchNorm2d(c, eps=EPS))
        self.ext = nn.Sequential(nn.Conv2d(cin, i, 1, bias=False), nn.BatchNorm2d(i, eps=EPS), nn.ReLU(),
                                 nn.ConvTranspose2d(i, i, 3, 2, 1, 1), nn.BatchNorm2d(i, eps=EPS), nn.ReLU(),
                                 nn.Conv2d(i, c, 1, bias=False), nn.BatchNorm2d(c, eps=EPS))

    def forward(self, x, idx, size):
        return F.relu(F.max_unpool2d(self.main(x), idx, 2, 2, output_size=size) + self.ext(x))


STAGE2 = [("regular", 1), ("regular", 2), ("asymmetric", 1), ("regular", 4),
          ("regular", 1), ("regular", 8), ("asymmetric", 1), ("regular", 16)]


class ENet(nn.Module):
    def __init__(self, classes: int = 19):
        super().__init__()
        self.initial = Initial()
        self.down1 = Bottleneck(16, 64, "down")
        self.enc1 = nn.ModuleList(Bottleneck(64, 64) for _ in range(4))
        self.down2 = Bottleneck(64, 128, "down")
        self.enc23 = nn.ModuleList(Bottleneck(128, 128, k, d) for k, d in STAGE2 + STAGE2)
        self.up4 = Upsample(128, 64)
        self.dec4 = nn.ModuleList(Bottleneck(64, 64, decoder=True) for _ in range(2))
        self.up5 = Upsample(64, 16)
        self.dec5 = Bottleneck(16, 16, decoder=True)
        self.full = nn.ConvTranspose2d(16, classes, 2, 2)

    def forward(self, x):
        x0 = self.initial(x)
        x, idx1 = self.down1(x0)
        for b in self.enc1:
            x = b(x)[0]
        x1 = x
        x, idx2 = self.down2(x1)
        for b in self.enc23:
            x = b(x)[0]
        x = self.up4(x, idx2, x1.shape[2:])
        for b in self.dec4:
            x = b(x)[0]
        x = self.dec5(self.up5(x, idx1, x0.shape[2:]))[0]
        return self.full(x)
