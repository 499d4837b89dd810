"""The CNNs the seeds compare against, with segmentation-models-pytorch 0.6's choices: FPN and U-Net on
ResNet-18, PSPNet on a dilated ResNet-50 (output stride 8). Written from the papers (He et al. 2016;
Lin et al. 2017 with Kirillov et al.'s panoptic-FPN segmentation branch; Ronneberger et al. 2015;
Zhao et al. 2017) and these facts about smp's models, with smp's module names so that its state_dict
loads by name:

- encoder: torchvision's ResNet without avgpool/fc (conv1 7x7 s2, bn1, relu, maxpool 3x3 s2 p1,
  layer1..4; a block's 1x1 `downsample` conv + BN where the stride or the width changes; Bottleneck
  strides its 3x3). Features: the stem's ReLU (stride 2) and layer1..4 (strides 4..32). At output
  stride 8 every conv of layer3/layer4 loses its stride and is dilated 2/4 (padding = dilation).
- FPN: p5 a 1x1 conv with bias; p4..p2: nearest x2 of the level above + a 1x1 conv with bias of the
  lateral; per level 3, 2, 1, 0 times [3x3 conv no bias, GroupNorm 32, ReLU, bilinear x2
  align_corners True] (one conv without upsampling at p2), 128 channels; summed; a 1x1 conv with bias
  to the classes; x4 bilinear align_corners True.
- U-Net: blocks of nearest upsampling to the skip's size, concat [x, skip], two 3x3 conv + BN + ReLU;
  channels 256/128/64/32/16, skips layer3/layer2/layer1/stem, none for the last; a 3x3 conv with bias.
- PSPNet: adaptive average pools 1/2/3/6 on layer4, each a 1x1 conv to C/4 + BN + ReLU (bin 1: conv
  with bias, no BN), bilinear back (align_corners True), concat [bins, x], 1x1 conv to 512 + BN +
  ReLU; a 3x3 conv with bias to the classes; x8 bilinear align_corners True."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin, cout, k, s=1, d=1):
    return nn.Conv2d(cin, cout, k, s, d * (k // 2), dilation=d, bias=False), nn.BatchNorm2d(cout)


class Basic(nn.Module):
    def __init__(self, cin, c, s=1, d=1):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(cin, c, 3, s, d)
        self.conv2, self.bn2 = conv_bn(c, c, 3, 1, d)
        self.relu = nn.ReLU()
        self.downsample = nn.Sequential(*conv_bn(cin, c, 1, s)) if s != 1 or cin != c else None

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    def __init__(self, cin, c, s=1, d=1):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(cin, c // 4, 1)
        self.conv2, self.bn2 = conv_bn(c // 4, c // 4, 3, s, d)
        self.conv3, self.bn3 = conv_bn(c // 4, c, 1)
        self.relu = nn.ReLU()
        self.downsample = nn.Sequential(*conv_bn(cin, c, 1, s)) if s != 1 or cin != c else None

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn3(self.conv3(self.relu(self.bn2(self.conv2(y)))))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """Returns the stem's ReLU output and layer1..4. dilations: per layer; a dilated layer has stride 1."""

    def __init__(self, block, depths, widths, dilations=(1, 1, 1, 1)):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(3, 64, 7, 2)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (n, c, d) in enumerate(zip(depths, widths, dilations), 1):
            s = 1 if i == 1 or d > 1 else 2
            setattr(self, f"layer{i}", nn.Sequential(*[block(cin if j == 0 else c, c, s if j == 0 else 1, d)
                                                        for j in range(n)]))
            cin = c

    def forward(self, x):
        feats = [self.relu(self.bn1(self.conv1(x)))]
        x = self.maxpool(feats[0])
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
            feats.append(x)
        return feats


def resnet18():
    return ResNet(Basic, (2, 2, 2, 2), (64, 128, 256, 512))


def resnet50_os8():
    return ResNet(Bottleneck, (3, 4, 6, 3), (256, 512, 1024, 2048), (1, 1, 2, 4))


def head(cin, classes, k, scale):
    up = nn.Upsample(scale_factor=scale, mode="bilinear", align_corners=True) if scale > 1 else nn.Identity()
    return nn.Sequential(nn.Conv2d(cin, classes, k, padding=k // 2), up)


class SegBlock(nn.Module):
    def __init__(self, cin, c, ups):
        super().__init__()
        self.block = nn.Sequential(*[ConvGN(cin if i == 0 else c, c, ups > 0) for i in range(max(ups, 1))])

    def forward(self, x):
        return self.block(x)


class ConvGN(nn.Module):
    def __init__(self, cin, c, up):
        super().__init__()
        self.up = up
        self.block = nn.Sequential(nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.GroupNorm(32, c), nn.ReLU())

    def forward(self, x):
        x = self.block(x)
        return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True) if self.up else x


class Lateral(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        self.skip_conv = nn.Conv2d(cin, c, 1)

    def forward(self, x, skip):
        return F.interpolate(x, scale_factor=2.0, mode="nearest") + self.skip_conv(skip)


class FPNDecoder(nn.Module):
    def __init__(self, widths=(64, 128, 256, 512), pyramid=256, seg=128):
        super().__init__()
        self.p5 = nn.Conv2d(widths[3], pyramid, 1)
        self.p4, self.p3, self.p2 = (Lateral(widths[i], pyramid) for i in (2, 1, 0))
        self.seg_blocks = nn.ModuleList([SegBlock(pyramid, seg, ups) for ups in (3, 2, 1, 0)])

    def forward(self, feats):
        p5 = self.p5(feats[4])
        p4 = self.p4(p5, feats[3])
        p3 = self.p3(p4, feats[2])
        p2 = self.p2(p3, feats[1])
        return sum(block(p) for block, p in zip(self.seg_blocks, (p5, p4, p3, p2)))


class FPNResNet18(nn.Module):
    def __init__(self, classes=150):
        super().__init__()
        self.encoder = resnet18()
        self.decoder = FPNDecoder()
        self.segmentation_head = head(128, classes, 1, 4)

    def forward(self, x):
        return self.segmentation_head(self.decoder(self.encoder(x)))


def conv_bn_relu(cin, c, k):
    return nn.Sequential(nn.Conv2d(cin, c, k, padding=k // 2, bias=False), nn.BatchNorm2d(c), nn.ReLU())


class UpBlock(nn.Module):
    def __init__(self, cin, skip, c):
        super().__init__()
        self.conv1 = conv_bn_relu(cin + skip, c, 3)
        self.conv2 = conv_bn_relu(c, c, 3)

    def forward(self, x, size, skip=None):
        x = F.interpolate(x, size=size, mode="nearest")
        return self.conv2(self.conv1(x if skip is None else torch.cat([x, skip], dim=1)))


class UnetResNet18(nn.Module):
    def __init__(self, classes=150, channels=(256, 128, 64, 32, 16)):
        super().__init__()
        self.encoder = resnet18()
        skips = (256, 128, 64, 64, 0)
        self.decoder = nn.Module()
        ins = (512, *channels)
        self.decoder.blocks = nn.ModuleList([UpBlock(cin, s, c) for cin, s, c in zip(ins, skips, channels)])
        self.segmentation_head = head(channels[-1], classes, 3, 1)

    def forward(self, x):
        feats = self.encoder(x)
        skips = feats[3::-1]  # layer3, layer2, layer1, stem
        y = feats[4]
        for i, block in enumerate(self.decoder.blocks):
            skip = skips[i] if i < len(skips) else None
            y = block(y, x.shape[2:] if skip is None else skip.shape[2:], skip)
        return self.segmentation_head(y)


class PSPBin(nn.Module):
    def __init__(self, cin, c, size):
        super().__init__()
        norm = nn.BatchNorm2d(c) if size > 1 else nn.Identity()
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(size),
                                  nn.Sequential(nn.Conv2d(cin, c, 1, bias=size == 1), norm, nn.ReLU()))

    def forward(self, x):
        return F.interpolate(self.pool(x), size=x.shape[2:], mode="bilinear", align_corners=True)


class PSPResNet50(nn.Module):
    def __init__(self, classes=150, bins=(1, 2, 3, 6), c=512):
        super().__init__()
        self.encoder = resnet50_os8()
        self.decoder = nn.Module()
        self.decoder.psp = nn.Module()
        self.decoder.psp.blocks = nn.ModuleList([PSPBin(2048, 2048 // len(bins), b) for b in bins])
        self.decoder.conv = conv_bn_relu(2 * 2048, c, 1)
        self.segmentation_head = head(c, classes, 3, 8)

    def forward(self, x):
        f = self.encoder(x)[4]
        y = torch.cat([b(f) for b in self.decoder.psp.blocks] + [f], dim=1)
        return self.segmentation_head(self.decoder.conv(y))
