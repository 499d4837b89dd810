"""The normalisation images get before a model: a spec's `normalize: {mean: [...], std: [...]}`, one
value per input channel, or ImageNet's (what torchvision-trained backbones expect).

    normalize: {mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]}
"""
from __future__ import annotations

from archc.errors import SpecError

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))  # mean, std of torchvision-trained backbones
GRAY = ((0.449,), (0.226,))  # the RGB figures averaged, for 1-channel inputs


def default_normalization(channels: int) -> tuple:
    """ImageNet's mean and std (gray: their average); other channel counts are left as they are."""
    return IMAGENET if channels == 3 else GRAY if channels == 1 else ((0.0,) * channels, (1.0,) * channels)


def decode_normalize(d: dict, channels: int, mark) -> tuple | None:
    """The document's `normalize:` as (mean, std), or None when it has none."""
    if "normalize" not in d:
        return None
    mean, std = tuple(d["normalize"]["mean"]), tuple(d["normalize"]["std"])
    if not len(mean) == len(std) == channels:
        raise SpecError(f"normalize: mean and std need one value per input channel ({channels}), "
                        f"got {len(mean)} and {len(std)}", mark)
    return mean, std
