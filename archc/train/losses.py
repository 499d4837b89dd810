"""Training losses: cross-entropy over classes (binary cross-entropy for one class), 255 ignored in both;
optionally weighted per class (ENet's 1 / ln(1.02 + frequency), Paszke et al. 2016, from the train masks)
or restricted to the hardest pixels (OHEM as the Cityscapes recipes use it: the pixels whose true class has
probability below 0.7, and at least a quarter of the labelled pixels).

    criterion = criterion(Config(epochs=8, loss="ohem", class_weights=True), train_set, device)
    loss = criterion(logits, masks)
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from archc.train.classes import IGNORE

LOSSES = ("ce", "ohem")
OHEM_PROBABILITY, OHEM_MIN_KEPT = 0.7, 0.25


def class_weights(data) -> torch.Tensor:
    """ENet's weights from the train masks' pixel counts per class (classes never seen get the largest)."""
    counts = torch.zeros(max(data.classes, 2), dtype=torch.float64)
    for i in range(len(data)):
        mask = data.raw(i)[1].long()
        mask = mask[mask != IGNORE]
        counts += torch.bincount(mask.flatten(), minlength=len(counts))[:len(counts)].double()
    freq = counts / counts.sum().clamp(min=1)
    return (1.0 / torch.log(1.02 + freq)).float()


def criterion(config, data=None, device=None):
    weights = class_weights(data).to(device) if config.class_weights and data is not None else None
    ohem = config.loss == "ohem"
    return lambda logits, masks: loss_fn(logits, masks, weights, ohem)


def loss_fn(logits, masks, weights=None, ohem: bool = False):
    """Mean loss over the labelled pixels (all, or OHEM's hardest); logits resized to the masks if smaller."""
    if logits.shape[-2:] != masks.shape[-2:]:  # heads that stop short of the input size
        logits = F.interpolate(logits, masks.shape[-2:], mode="bilinear", align_corners=False)
    logits = logits.float()
    if weights is None and not ohem and logits.shape[1] > 1:
        return F.cross_entropy(logits, masks, ignore_index=IGNORE)
    keep = masks != IGNORE
    if logits.shape[1] > 1:
        per_pixel = F.cross_entropy(logits, masks, weight=weights, ignore_index=IGNORE, reduction="none")
    else:
        target = (masks == 1).float()
        per_pixel = F.binary_cross_entropy_with_logits(logits[:, 0], target, reduction="none")
        if weights is not None:
            per_pixel = per_pixel * weights[target.long()]
    per_pixel = per_pixel[keep]
    if ohem and per_pixel.numel():
        hard = int((per_pixel > -math.log(OHEM_PROBABILITY)).sum())
        kept = max(hard, math.ceil(OHEM_MIN_KEPT * per_pixel.numel()))
        per_pixel = per_pixel.topk(kept).values
    if weights is not None and logits.shape[1] > 1 and not ohem:
        return per_pixel.sum() / weights[masks[keep]].sum().clamp(min=1e-12)
    return per_pixel.sum() / max(per_pixel.numel(), 1)
