"""What the reference-check scripts (benchmarks/*_smp.py, *_timm.py) share, run in the reference venv:
a reference model built with seeded weights and norms that are not the identity, and its torchinfo totals."""
from __future__ import annotations

import torch
import torchinfo


def randomized(make, norms: tuple = (torch.nn.BatchNorm2d,)):
    """`make()` built after seeding (its initial weights are the same in every run), eval mode, with the
    affine weights and biases of its `norms` and the BN running statistics drawn away from the identity."""
    torch.manual_seed(0)
    model = make()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, norms):
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2), m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def totals(model, shape) -> tuple:
    """torchinfo 1.8's (params, MACs, output bytes) of `model` on a batch of one `shape` (C, H, W)."""
    s = torchinfo.summary(model, (1, *shape), verbose=0, device="cpu")
    return s.total_params, s.total_mult_adds, s.total_output_bytes
