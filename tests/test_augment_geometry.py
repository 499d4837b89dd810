"""Scale augmentation pixel by pixel: the label is resized nearest with the bilinear image's pixel-centre
geometry (every label lands where its colour does), padding is ignore in the label and the mean colour in the
image, the crop is uniform over every valid position, the scale is drawn uniformly (as mmcv's RandomResize
draws its ratio), and the flip turns image and label together."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from archc.train.augment import Augment
from archc.train.classes import IGNORE

MEAN = torch.tensor([100.0, 110.0, 120.0]).view(-1, 1, 1)


def _edge_set(h: int, w: int, k: int, axis: int):
    """An image that is 255 before index k along `axis` and 0 from it on, and its label 1 / 2."""
    idx = torch.arange(w if axis else h)
    before = (idx < k).view((1, -1) if axis else (-1, 1)).expand(h, w)
    mask = torch.where(before, 1, 2).to(torch.uint8)
    return (before.to(torch.uint8) * 255).expand(3, h, w).contiguous(), mask


@pytest.mark.parametrize("s", [0.5, 0.63, 0.77, 1.3, 1.5, 1.9, 2.0])
@pytest.mark.parametrize("axis", [0, 1])
def test_label_lands_where_its_colour_does_and_padding_is_ignore(s, axis):
    h, w = 37, 41
    for k in (5, 12, 20, 29):
        image, mask = _edge_set(h, w, k, axis)
        crop = (2 * h + 2, 2 * w + 2)  # larger than any scaled image: one crop position, padding bottom right
        x, m = Augment((s, s), flip=False)(np.random.default_rng(0), image, mask, crop, MEAN)
        sh, sw = round(h * s), round(w * s)
        out = torch.arange(sw if axis else sh, dtype=torch.float64)
        n = w if axis else h
        # the reference: output pixel i's centre (i + 0.5) maps to source position (i + 0.5) * n / n'
        first = ((out + 0.5) * n / len(out) < k).view((1, -1) if axis else (-1, 1)).expand(sh, sw)
        assert torch.equal(m[:sh, :sw], torch.where(first, 1, 2).to(torch.uint8)), (s, axis, k)
        colour = x[0, :sh, :sw]
        clear = (colour - 127.5).abs() > 1e-3  # the image's 50% crossing, ties aside
        assert torch.equal((colour > 127.5)[clear], first[clear]), (s, axis, k)
        assert (m[sh:] == IGNORE).all() and (m[:, sw:] == IGNORE).all()
        assert torch.allclose(x[:, sh:, :], MEAN.expand(3, crop[0] - sh, crop[1]))
        assert torch.allclose(x[:, :, sw:], MEAN.expand(3, crop[0], crop[1] - sw))


def test_crop_is_uniform_over_every_valid_position_and_cuts_image_and_label_alike():
    h, w, ch, cw = 12, 13, 8, 8
    code = torch.arange(h * w).view(h, w)  # each pixel says where it was
    image = torch.stack([code // 256, code % 256, code % 7]).to(torch.uint8)
    mask = (code % 251).to(torch.uint8)
    aug, rng, seen = Augment(None, flip=False), np.random.default_rng(1), Counter()
    draws = 2000
    for _ in range(draws):
        x, m = aug(rng, image, mask, (ch, cw), MEAN)
        top_left = int(x[0, 0, 0]) * 256 + int(x[1, 0, 0])
        y0, x0 = divmod(top_left, w)
        assert torch.equal(x, image[:, y0:y0 + ch, x0:x0 + cw].float())
        assert torch.equal(m, mask[y0:y0 + ch, x0:x0 + cw])
        seen[(y0, x0)] += 1
    positions = (h - ch + 1) * (w - cw + 1)
    assert set(seen) == {(y, x) for y in range(h - ch + 1) for x in range(w - cw + 1)}  # the last ones too
    expected = draws / positions
    assert all(abs(c - expected) < 5 * expected ** 0.5 for c in seen.values()), seen  # ~5 sd of a binomial


def test_scale_is_drawn_uniformly_over_the_range():
    """Uniform over 0.5-2.0: a third of the draws shrink the image, mean 1.25 (log-uniform would shrink half,
    mean 1.08)."""
    image, mask = torch.zeros(3, 40, 40, dtype=torch.uint8), torch.zeros(40, 40, dtype=torch.uint8)
    aug, rng, factors = Augment((0.5, 2.0), flip=False), np.random.default_rng(2), []
    for _ in range(600):
        _, m = aug(rng, image, mask, (81, 81), MEAN)
        factors.append(int((m[:, 0] != IGNORE).sum()) / 40)
    factors = np.array(factors)
    assert factors.min() >= 0.5 and factors.max() <= 2.0
    assert 0.28 < (factors < 1).mean() < 0.39
    assert 1.19 < factors.mean() < 1.31


def test_flip_turns_image_and_label_together():
    col = torch.arange(20, dtype=torch.uint8).view(1, -1).expand(16, 20)
    image, mask = torch.stack([col, col, col]).contiguous(), col.contiguous()
    aug, rng, flipped = Augment((0.8, 1.2), flip=True), np.random.default_rng(3), 0
    for _ in range(60):
        x, m = aug(rng, image, mask, (12, 12), MEAN)
        valid = m != IGNORE
        # nearest labels vs bilinear colours: the label's column is within one source column of the colour
        assert ((x[0][valid] - m[valid].float()).abs() <= 1).all()
        flipped += int(m[0, 0] > m[0, -1])
    assert 10 < flipped < 50  # about half of the draws flip
