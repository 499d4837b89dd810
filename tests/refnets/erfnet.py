"""ERFNet (Romera et al., "ERFNet: Efficient Residual Factorized ConvNet for Real-time Semantic
Segmentation", T-ITS 2018), laid out as the authors' public code registers it (the encoder's 1x1
classifier `encoder.output_conv` sits inside the encoder, before the decoder)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Downsampler(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout - cin, 3, 2, 1, bias=True)
        self.pool = nn.MaxPool2d(2, 2)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x):
        return F.relu(self.bn(torch.cat([self.conv(x), self.pool(x)], 1)))


class NonBottleneck1D(nn.Module):
    def __init__(self, c, p, d):
        super().__init__()
        self.conv3x1_1 = nn.Conv2d(c, c, (3, 1), padding=(1, 0), bias=True)
        self.conv1x3_1 = nn.Conv2d(c, c, (1, 3), padding=(0, 1), bias=True)
        self.bn1 = nn.BatchNorm2d(c, eps=1e-3)
        self.conv3x1_2 = nn.Conv2d(c, c, (3, 1), padding=(d, 0), dilation=(d, 1), bias=True)
        self.conv1x3_2 = nn.Conv2d(c, c, (1, 3), padding=(0, d), dilation=(1, d), bias=True)
        self.bn2 = nn.BatchNorm2d(c, eps=1e-3)
        self.dropout = nn.Dropout2d(p)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1x3_1(F.relu(self.conv3x1_1(x)))))
        y = self.bn2(self.conv1x3_2(F.relu(self.conv3x1_2(y))))
        return F.relu(self.dropout(y) + x)


class Upsampler(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=1, bias=True)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Encoder(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.initial_block = Downsampler(3, 16)
        layers = [Downsampler(16, 64)] + [NonBottleneck1D(64, 0.03, 1) for _ in range(5)] + [Downsampler(64, 128)]
        layers += [NonBottleneck1D(128, 0.3, d) for _ in range(2) for d in (2, 4, 8, 16)]
        self.layers = nn.Sequential(*layers)
        self.output_conv = nn.Conv2d(128, classes, 1, bias=True)

    def forward(self, x):
        return self.layers(self.initial_block(x))


class ERFNet(nn.Module):
    def __init__(self, classes=20):
        super().__init__()
        self.encoder = Encoder(classes)
        self.decoder = nn.Sequential(Upsampler(128, 64), NonBottleneck1D(64, 0, 1), NonBottleneck1D(64, 0, 1),
                                     Upsampler(64, 16), NonBottleneck1D(16, 0, 1), NonBottleneck1D(16, 0, 1),
                                     nn.ConvTranspose2d(16, classes, 2, 2, 0, output_padding=0, bias=True))

    def forward(self, x):
        features = self.encoder(x)
        return self.decoder(features), self.encoder.output_conv(features)
