"""A deterministic synthetic segmentation set, in the folder-pair layout, hard enough that capacity shows.

Each object class is a stripe texture (its own orientation and period) filling a random shape of a random
colour; the background is a colour gradient cluttered with flat-coloured decoy shapes and decoy stripes that
share a class's orientation or its period but never both, under pixel noise. Colour and shape say nothing
about the class: a model has to read orientation and frequency jointly, which narrow models do worse.
Class 0 is the background; with `classes: 1` the one object class is the mask's 1 (the IoT thesis's case).

    archc data synth data/synth --classes 4 --images 300 --size 128x128 --seed 0
    # data/synth/{train,val}/{images,masks}/00000.png, masks hold class ids

That is `--kind stripes`, the default. Its classes are stripe periods, which scaling turns into each other;
`--kind scenes` (archc.train.scenes) is a set whose classes hold at any scale, as real scenes' do.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archc.errors import ArchcError
from archc.fs import atomic_dir

VAL_FRACTION = 0.2
MAX_CLASSES = 16  # distinct orientations x periods that stay apart at small sizes
KINDS = ("stripes", "scenes")


@dataclass(frozen=True)
class Recipe:
    """What a synthetic set is: its kind, class count, image count, size (H, W) and seed."""

    kind: str
    classes: int
    images: int
    size: tuple
    seed: int = 0


def synthesize(out, classes: int, images: int, size: tuple, seed: int = 0, force: bool = False) -> dict:
    """Write `images` image/mask pairs of `size` (H, W) under out/{train,val} (the stripes set); the counts."""
    return write(Recipe("stripes", classes, images, size, seed), out, force)


def write(recipe: Recipe, out, force: bool = False) -> dict:
    """Write the set `recipe` describes under out/{train,val}; returns the counts."""
    make = _check(recipe)
    n_val = max(1, round(recipe.images * VAL_FRACTION))
    with atomic_dir(out, force) as tmp:
        for i in range(recipe.images):
            split = "val" if i >= recipe.images - n_val else "train"
            image, mask = make(recipe.classes, recipe.size, recipe.seed, i)
            _save(tmp / split, f"{i:05d}.png", image, mask)
    return {"train": recipe.images - n_val, "val": n_val, "classes": recipe.classes, "size": list(recipe.size),
            "seed": recipe.seed, "kind": recipe.kind}


def _check(recipe: Recipe):
    """The sampler of the recipe's kind, once its numbers are checked."""
    from archc.train import scenes

    if recipe.kind not in KINDS:
        raise ArchcError(f"--kind {recipe.kind}: choose one of {', '.join(KINDS)}")
    top = MAX_CLASSES if recipe.kind == "stripes" else scenes.MAX_CLASSES
    if not 1 <= recipe.classes <= top:
        raise ArchcError(f"--classes {recipe.classes}: give 1 to {top} for --kind {recipe.kind} "
                         f"(1 = one object class on background)")
    if recipe.images < 2:
        raise ArchcError(f"--images {recipe.images}: give at least 2 (one for train, one for val)")
    if min(recipe.size) < 16 or max(recipe.size) > 4096:
        raise ArchcError(f"--size {recipe.size[0]}x{recipe.size[1]}: give H and W between 16 and 4096")
    return sample if recipe.kind == "stripes" else scenes.sample


def _save(folder: Path, name: str, image: np.ndarray, mask: np.ndarray) -> None:
    from PIL import Image

    for sub, arr in (("images", image), ("masks", mask)):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(folder / sub / name)


def sample(classes: int, size: tuple, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Image i of the set (H x W x 3 uint8) and its mask (H x W uint8): a pure function of its arguments."""
    rng = np.random.default_rng([seed, index])
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    image = _background(rng, yy, xx)
    mask = np.zeros((h, w), np.uint8)
    kinds = max(classes - 1, 1)  # object classes; 1..kinds in the mask
    for _ in range(rng.integers(3, 7)):  # decoys: flat shapes, and stripes that match a class in one way only
        region = _shape(rng, yy, xx)
        fill = _decoy(rng, yy, xx, kinds) if rng.random() < 0.7 else 0.5
        image = _paint(image, region, rng.uniform(0.2, 0.9, 3), fill)
    for _ in range(rng.integers(1, 5)):
        cls = int(rng.integers(1, kinds + 1))
        region = _shape(rng, yy, xx)
        image = _paint(image, region, rng.uniform(0.1, 1.0, 3), _class_stripes(rng, yy, xx, cls, kinds))
        mask[region] = cls
    image = image + rng.normal(0, 0.06, image.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8), mask


def _background(rng, yy, xx) -> np.ndarray:
    h, w = yy.shape
    a, b = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    t = (np.cos(rng.uniform(0, np.pi)) * yy / h + np.sin(rng.uniform(0, np.pi)) * xx / w)[..., None]
    return a + (b - a) * np.clip(t, 0, 1) * 0.6


def _shape(rng, yy, xx) -> np.ndarray:
    """A boolean region: an ellipse or a rotated rectangle, 10-35% of the shorter side in radius."""
    h, w = yy.shape
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    ry, rx = rng.uniform(0.1, 0.35, 2) * min(h, w)
    th = rng.uniform(0, np.pi)
    u = ((yy - cy) * np.cos(th) + (xx - cx) * np.sin(th)) / ry
    v = (-(yy - cy) * np.sin(th) + (xx - cx) * np.cos(th)) / rx
    return (u * u + v * v <= 1) if rng.random() < 0.5 else ((np.abs(u) <= 1) & (np.abs(v) <= 1))


def _class_stripes(rng, yy, xx, cls: int, kinds: int) -> np.ndarray:
    return _grating(rng, yy, xx, _angle(cls, kinds) + rng.normal(0, 0.04), _period(cls))


def _angle(cls: int, kinds: int) -> float:
    return np.pi * (cls - 1) / (2 * kinds)  # the classes' orientations spread over [0, pi/2)


def _period(cls: int) -> float:
    return 4.0 + 2.0 * (cls % 3)  # 4, 6 or 8 pixels


def _decoy(rng, yy, xx, kinds: int) -> np.ndarray:
    """A class's orientation at a period no class has (10-12 px), or a class's period at an orientation no
    class has (in (pi/2, pi)): telling them apart takes orientation and frequency together."""
    cls = int(rng.integers(1, kinds + 1))
    if rng.random() < 0.5:
        return _grating(rng, yy, xx, _angle(cls, kinds), rng.uniform(10, 12))
    return _grating(rng, yy, xx, np.pi / 2 + rng.uniform(0.15, np.pi / 2 - 0.15), _period(cls))


def _grating(rng, yy, xx, angle: float, period: float) -> np.ndarray:
    """A sine grating in [0, 1] at `angle` with `period` pixels, random phase."""
    phase = rng.uniform(0, 2 * np.pi)
    return 0.5 + 0.5 * np.sin(2 * np.pi * (yy * np.cos(angle) + xx * np.sin(angle)) / period + phase)


def _paint(image: np.ndarray, region: np.ndarray, colour: np.ndarray, fill) -> np.ndarray:
    """Colour times a texture in [0.35, 1] (contrast of the stripes) inside `region`."""
    shade = 0.35 + 0.65 * (fill if np.ndim(fill) else np.full(region.shape, fill))
    out = image.copy()
    out[region] = (colour[None, :] * shade[region][:, None])
    return out
