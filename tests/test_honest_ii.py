"""Issue 29, second set: behaviour pinned against references computed here by hand (or facts of the datasets'
and torchvision's own definitions, written as literals), for the mutants of benchmarks/mutants.py's second set
that the first tests let live: OHEM and ENet class weights, sliding-window averaging, calibration images,
training crops, normalisation constants, dataset id tables, `>=` budgets and the sweep's training cache key."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

# --- OHEM and class weights ------------------------------------------------------------------------------


def _two_class_logits(margins):
    """Logits (1 x 2 x 1 x N) whose pixel i, labelled 0, has probability sigmoid(margins[i]) of class 0."""
    m = torch.tensor(margins, dtype=torch.float32)
    return torch.stack([m, torch.zeros_like(m)])[None, :, None, :], torch.zeros(1, 1, len(margins), dtype=torch.long)


def _ce(margin: float) -> float:
    return math.log1p(math.exp(-margin))  # -log(sigmoid(margin))


def test_ohem_averages_the_pixels_below_the_probability_threshold():
    from archc.train.losses import loss_fn

    margins = [-1.0, 0.0, 0.5, 3.0, 3.0, 4.0, 5.0, 6.0]  # p(class 0) < 0.7 for the first three (ln(7/3) = 0.85)
    logits, masks = _two_class_logits(margins)
    hard = [_ce(m) for m in margins if 1 / (1 + math.exp(-m)) < 0.7]
    assert len(hard) == 3
    assert float(loss_fn(logits, masks, ohem=True)) == pytest.approx(sum(hard) / 3, rel=1e-5)


def test_ohem_keeps_at_least_a_quarter_of_the_labelled_pixels():
    from archc.train.losses import loss_fn

    margins = [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]  # only the first is hard; a quarter of 8 is 2
    logits, masks = _two_class_logits(margins)
    masks = torch.cat([masks, torch.full((1, 1, 4), 255)], 2)  # ignored pixels count in no quarter
    logits = torch.cat([logits, torch.zeros(1, 2, 1, 4)], 3)
    assert float(loss_fn(logits, masks, ohem=True)) == pytest.approx((_ce(0.0) + _ce(2.0)) / 2, rel=1e-5)


class _Masks:
    """A dataset as class_weights reads it: `classes`, len() and raw(i) -> (image, mask)."""

    def __init__(self, masks, classes):
        self.masks, self.classes = masks, classes

    def __len__(self):
        return len(self.masks)

    def raw(self, i):
        return None, torch.tensor(self.masks[i], dtype=torch.uint8)


def test_class_weights_are_enets_formula_over_the_labelled_pixels():
    from archc.train.losses import class_weights

    masks = [[[0, 0, 0, 255], [1, 255, 255, 255]], [[0, 0, 0, 1], [255, 255, 255, 255]]]
    counts = [6, 2, 0]  # class 2 never appears; the 8 pixels of 255 count nowhere
    want = [1 / math.log(1.02 + c / 8) for c in counts]
    assert class_weights(_Masks(masks, 3)).tolist() == pytest.approx(want, rel=1e-6)


# --- sliding windows -------------------------------------------------------------------------------------


class _WindowMean(torch.nn.Module):
    """Each window's mean per channel, spread over the window: the result depends on every window's place."""

    def forward(self, x):
        return x.mean((2, 3), keepdim=True).expand_as(x)


def test_sliding_windows_average_their_overlaps_and_cover_the_image():
    from archc.train.infer import slide

    x = torch.arange(2 * 10 * 16, dtype=torch.float32).reshape(1, 2, 10, 16) ** 1.5
    window, tops, lefts = (6, 9), [0, 4], [0, 6, 7]  # strides ceil(6*2/3) = 4 and ceil(9*2/3) = 6; last flush
    total, count = torch.zeros_like(x), torch.zeros(1, 1, 10, 16)
    for y in tops:
        for left in lefts:
            part = x[..., y:y + 6, left:left + 9]
            total[..., y:y + 6, left:left + 9] += part.mean((2, 3), keepdim=True)
            count[..., y:y + 6, left:left + 9] += 1
    assert count.min() >= 1
    assert torch.allclose(slide(_WindowMean(), x, window), total / count, rtol=1e-6)


# --- calibration images, training crops, normalisation constants ----------------------------------------


def test_a_calibration_image_keeps_its_height_and_width_and_the_specs_normalisation(tmp_path):
    from archc.onnx.calib import _image

    rgb = (np.arange(4 * 6 * 3).reshape(4, 6, 3) * 3).astype(np.uint8)  # 4 high, 6 wide, every pixel different
    Image.fromarray(rgb).save(tmp_path / "a.png")
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    want = ((rgb / 255.0 - np.array(mean)) / np.array(std)).transpose(2, 0, 1)
    got = _image(tmp_path / "a.png", (3, 4, 6), (mean, std))
    assert got.shape == (3, 4, 6) and np.allclose(got, want, atol=1e-6)


def test_a_training_crop_has_the_crops_height_and_width():
    from archc.train.augment import _crop

    image, mask = torch.rand(3, 20, 30) * 255, torch.zeros(20, 30, dtype=torch.uint8)
    got, got_mask = _crop(np.random.default_rng(0), image, mask, (8, 14), torch.zeros(3, 1, 1))
    assert tuple(got.shape) == (3, 8, 14) and tuple(got_mask.shape) == (8, 14)
    padded, padded_mask = _crop(np.random.default_rng(0), image, mask, (24, 12), torch.zeros(3, 1, 1))
    assert tuple(padded.shape) == (3, 24, 12) and (padded_mask[20:] == 255).all()  # padded rows are ignored


def test_the_default_normalisation_is_torchvisions_imagenet_constants():
    from archc.lang.normalize import default_normalization

    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # torchvision's documented ImageNet figures
    assert default_normalization(3) == (mean, std)
    gray = default_normalization(1)
    assert gray[0][0] == pytest.approx(sum(mean) / 3, abs=5e-4) and gray[1][0] == pytest.approx(sum(std) / 3, abs=5e-4)


# --- dataset id tables -----------------------------------------------------------------------------------

# cityscapesScripts' labels.py: (label id, train id) of the 19 trained classes; every other id 0-33 is ignored
CITYSCAPES_TRAIN = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12,
                    26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}


def test_cityscapes_label_ids_map_to_the_train_ids_of_its_own_table():
    from archc.train.classes import cityscapes

    lut = cityscapes()[2]
    assert [int(lut[i]) for i in range(34)] == [CITYSCAPES_TRAIN.get(i, 255) for i in range(34)]
    assert int(lut[255]) == 255


def test_ade20k_annotation_k_is_class_k_minus_1_and_0_is_ignored():
    from archc.train.classes import ade20k

    names, _, lut = ade20k()
    assert len(names) == 150 and int(lut[0]) == 255
    assert [int(lut[k]) for k in range(1, 151)] == list(range(150))


# --- budgets and the sweep's training cache --------------------------------------------------------------


@pytest.mark.parametrize("op, bound, value, want", [("<=", 10.0, 10.0, 0.0), ("<=", 10.0, 11.0, 0.1),
                                                    ("<=", 10.0, 9.0, -0.1), (">=", 0.5, 0.5, 0.0),
                                                    (">=", 0.5, 0.4, 0.2), (">=", 0.5, 0.6, -0.2)])
def test_a_budgets_violation_is_its_relative_excess_in_its_own_direction(op, bound, value, want):
    from archc.search.space import Constraint

    assert Constraint("miou" if op == ">=" else "params", op, bound).violation(value) == pytest.approx(want)


@pytest.mark.parametrize("field, other", [("epochs", 3), ("seed", 1), ("lr", 0.02), ("batch", 4),
                                          ("scale", (0.5, 2.0)), ("crop", (48, 48))])
def test_the_training_cache_key_changes_with_every_input_of_a_result(field, other):
    """The key of a trained score (archc.train.proxy.result_key, sweep --train and search --train): the model's
    key, the data's content key and each training setting (tests/test_train_cache_key.py covers every field)."""
    from dataclasses import replace

    from archc.train.loop import Config
    from archc.train.proxy import result_key

    base, data = Config(2), {"key": "k"}
    assert result_key("m", data, replace(base, **{field: other})) != result_key("m", data, base)
    assert result_key("m2", data, base) != result_key("m", data, base) != result_key("m", {"key": "k2"}, base)
    assert result_key("m", {"key": "k", "path": "elsewhere"}, base) == result_key("m", data, base)  # moved data
