"""A synthetic set whose classes do not depend on scale, as real scenes' do not (a car is a car at any distance):
`archc data synth DIR --kind scenes`.

Each object class is a pair (shape, pattern): shapes are ellipses, rotated rectangles, triangles and crosses;
patterns are flat, a checkerboard, concentric rings and parallel bands, each drawn relative to the object's own
size (four checker cells across it, three rings per radius, six bands across), so an object scaled up or down is
still an object of its class. Each class has its own hue (as grass is green and sky blue), of random saturation
and value; sizes spread log-uniformly over 10-40% of the image's shorter side in radius (near and far). Decoys
are the pairs no class has (a class's shape with another class's pattern), of any colour, painted but labelled
background: a decoy in a class's hue takes shape and pattern to tell apart. The background is a colour gradient
with faint blobs, under pixel noise. Class 0 is the background.

The first design (random colours, radii 6-40%) was not learnable in 8 epochs at width 0.5 (every run ended at
the all-background score, with or without scale augmentation): benchmarks/scale_augment_scenes_first.json.

    archc data synth data/scenes --kind scenes --classes 6 --images 480 --size 96x96 --seed 0
"""
from __future__ import annotations

import colorsys

import numpy as np

SHAPES, PATTERNS = 4, 4
SIZES = (0.1, 0.4)  # object radius, log-uniform, as fractions of the shorter side
MAX_CLASSES = SHAPES * PATTERNS - 4 + 1  # object classes take pairs; at least 4 pairs stay decoys (+ background)


def pair(cls: int) -> tuple[int, int]:
    """Object class 1, 2, ... -> its (shape, pattern): the diagonals of the 4x4 table first, so that each shape
    and each pattern belongs to several classes and neither alone names one."""
    i = cls - 1
    return i % SHAPES, (i % SHAPES + i // SHAPES) % PATTERNS


def sample(classes: int, size: tuple, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Image i of the set (H x W x 3 uint8) and its mask (H x W uint8): a pure function of its arguments."""
    rng = np.random.default_rng([seed, index, 2])
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    image, mask = _background(rng, yy, xx), np.zeros((h, w), np.uint8)
    kinds = max(classes - 1, 1)
    taken = {pair(c) for c in range(1, kinds + 1)}
    decoys = [(s, p) for s in range(SHAPES) for p in range(PATTERNS) if (s, p) not in taken]
    objects = [(int(rng.integers(1, kinds + 1)), None) for _ in range(rng.integers(1, 5))]
    objects += [(0, decoys[int(rng.integers(len(decoys)))]) for _ in range(rng.integers(1, 4))]
    for cls, decoy in (objects[i] for i in rng.permutation(len(objects))):  # decoys may occlude objects
        shape, pattern = decoy or pair(cls)
        region, u, v, radius = _shape(rng, yy, xx, shape)
        fill = _pattern(rng, u, v, radius, pattern)
        image[region] = _colour(rng, cls, kinds)[None, :] * (0.35 + 0.65 * fill[region])[:, None]
        mask[region] = cls
    image = image + rng.normal(0, 0.06, image.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8), mask


def _colour(rng, cls: int, kinds: int) -> np.ndarray:
    """An object class's colour: its own hue (spread evenly round the wheel) +-0.05, random saturation and
    value in [0.5, 1]; a decoy's (class 0) any colour, so a decoy in a class's hue takes its shape and pattern
    to tell apart."""
    if cls == 0:
        return rng.uniform(0.1, 1.0, 3)
    hue = ((cls - 1) / kinds + rng.uniform(-0.05, 0.05)) % 1
    return np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.5, 1), rng.uniform(0.5, 1)))


def _background(rng, yy, xx) -> np.ndarray:
    h, w = yy.shape
    a, b = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    t = (np.cos(rng.uniform(0, np.pi)) * yy / h + np.sin(rng.uniform(0, np.pi)) * xx / w)[..., None]
    image = a + (b - a) * np.clip(t, 0, 1) * 0.6
    for _ in range(rng.integers(2, 6)):  # low-contrast blobs: the background is not flat
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.1, 0.4) * min(h, w)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
        image = image + blob * rng.uniform(-0.15, 0.15, 3)
    return image


def _shape(rng, yy, xx, shape: int):
    """A boolean region of `shape` (0 ellipse, 1 rectangle, 2 triangle, 3 cross), its own coordinates (u, v) in
    units of its radius, and the radius in pixels (log-uniform over SIZES of the shorter side)."""
    h, w = yy.shape
    radius = float(np.exp(rng.uniform(np.log(SIZES[0]), np.log(SIZES[1])))) * min(h, w)
    cy, cx, th = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0, 2 * np.pi)
    aspect = rng.uniform(0.7, 1.0)
    u = ((yy - cy) * np.cos(th) + (xx - cx) * np.sin(th)) / radius
    v = (-(yy - cy) * np.sin(th) + (xx - cx) * np.cos(th)) / (radius * aspect)
    if shape == 0:
        region = u * u + v * v <= 1
    elif shape == 1:
        region = (np.abs(u) <= 0.85) & (np.abs(v) <= 0.85)
    elif shape == 2:
        region = (u >= -0.5) & (np.abs(v) <= (1 - u) / np.sqrt(3))  # equilateral, centred, pointing along +u
    else:
        region = ((np.abs(u) <= 1) & (np.abs(v) <= 0.33)) | ((np.abs(v) <= 1) & (np.abs(u) <= 0.33))
    return region, u, v, radius


def _pattern(rng, u, v, radius: float, pattern: int) -> np.ndarray:
    """The fill in [0, 1] over the object's own coordinates: flat, checker (4 cells across), rings (3 per
    radius) or bands (6 across, at a random angle), at a random phase: the same pattern at any size."""
    phase = rng.uniform(0, 1)
    if pattern == 0:
        return np.full(u.shape, rng.uniform(0.3, 1.0), np.float32)
    if pattern == 1:
        return ((np.floor(u * 2 + phase) + np.floor(v * 2 + phase)) % 2).astype(np.float32)
    if pattern == 2:
        return 0.5 + 0.5 * np.cos(2 * np.pi * (3 * np.sqrt(u * u + v * v) + phase))
    a = rng.uniform(0, np.pi)
    return 0.5 + 0.5 * np.cos(2 * np.pi * (3 * (u * np.cos(a) + v * np.sin(a)) + phase))
