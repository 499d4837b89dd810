"""SegNet (Badrinarayanan, Kendall, Cipolla, TPAMI 2017) in plain torch, written from the paper's Fig. 2
and these facts of the authors' Caffe model (github alexgkendall/SegNet-Tutorial,
Models/segnet_inference.prototxt), with its layer names: VGG-16's 13 convs, each 3x3 pad 1 with bias
+ BN + ReLU; 2x2 stride-2 max-pooling keeping the argmax, sizes rounded up (Caffe's pooling); the
decoder mirrors the encoder, each stage max-unpooling to its encoder's pre-pool size with that
pool's indices, then 3x3 conv + BN + ReLU layers whose last one narrows to the next stage's width;
conv1_1_D is a 3x3 conv with bias to the classes (the softmax after it is left out)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

ENCODER = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
DECODER = ((512, 512, 512), (512, 512, 256), (256, 256, 128), (128, 64), (64,))  # stage 5 first


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin, c):
        super().__init__(nn.Conv2d(cin, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())


class SegNet(nn.Module):
    def __init__(self, classes=11, w=1.0):  # w: every width but the classes' times w (archc's width pass)
        super().__init__()
        cin = 3
        for i, widths in enumerate(ENCODER, 1):
            for j, c in enumerate(widths, 1):
                self.add_module(f"conv{i}_{j}", ConvBNReLU(cin, int(c * w)))
                cin = int(c * w)
        for i, widths in zip(range(5, 0, -1), DECODER):
            for j, c in zip(range(len(widths) + (i == 1), 0, -1), widths):
                self.add_module(f"conv{i}_{j}_D", ConvBNReLU(cin, int(c * w)))
                cin = int(c * w)
        self.conv1_1_D = nn.Conv2d(cin, classes, 3, padding=1)

    def forward(self, x):
        pools = []
        for i, widths in enumerate(ENCODER, 1):
            for j in range(1, len(widths) + 1):
                x = getattr(self, f"conv{i}_{j}")(x)
            size = x.shape[2:]
            x, idx = F.max_pool2d(x, 2, 2, ceil_mode=True, return_indices=True)
            pools.append((idx, size))
        for i, widths in zip(range(5, 0, -1), DECODER):
            idx, size = pools[i - 1]
            x = F.max_unpool2d(x, idx, 2, 2, output_size=size)
            for j in range(len(widths) + (i == 1), 0, -1):
                x = getattr(self, f"conv{i}_{j}_D")(x)
        return x
