"""U-Net (Ronneberger, Fischer, Brox, MICCAI 2015) in plain torch, written from the paper's Fig. 1 and
Sec. 2: the contracting path repeats two unpadded 3x3 convolutions, each followed by a ReLU, and a 2x2
max-pooling with stride 2, doubling the channels at each downsampling (64 ... 1024); every step of the
expanding path upsamples by a 2x2 up-convolution that halves the channels, concatenates the cropped map
of the contracting path (cropping, as every convolution loses border pixels), and applies two 3x3
convolutions + ReLU; a final 1x1 convolution maps the 64 channels to the classes."""
from __future__ import annotations

import torch
from torch import nn

WIDTHS = (64, 128, 256, 512, 1024)


class DoubleConv(nn.Sequential):
    def __init__(self, cin, c):
        super().__init__(nn.Conv2d(cin, c, 3), nn.ReLU(), nn.Conv2d(c, c, 3), nn.ReLU())


def center_crop(x, like):
    """The centre of x at like's size (the larger half of an odd margin below and right)."""
    (h, w), (th, tw) = x.shape[2:], like.shape[2:]
    top, left = (h - th) // 2, (w - tw) // 2
    return x[:, :, top:top + th, left:left + tw]


class Up(nn.Module):
    """One step of the expanding path: the up-convolution, then the crop-and-concatenate, then two convs."""

    def __init__(self, cin, c):
        super().__init__()
        self.upconv, self.conv = nn.ConvTranspose2d(cin, c, 2, stride=2), DoubleConv(2 * c, c)

    def forward(self, x, skip):
        x = self.upconv(x)
        return self.conv(torch.cat([center_crop(skip, x), x], 1))


class UNet(nn.Module):
    def __init__(self, cin=1, classes=2, w=1.0):  # w: every width but the classes' times w
        super().__init__()
        widths = [int(c * w) for c in WIDTHS]
        self.down = nn.ModuleList()
        for c in widths:
            self.down.append(DoubleConv(cin, c))
            cin = c
        self.up = nn.ModuleList()
        for c in reversed(widths[:-1]):
            self.up.append(Up(cin, c))
            cin = c
        self.head = nn.Conv2d(cin, classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(x, skip)
        return self.head(x)
