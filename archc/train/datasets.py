"""Segmentation datasets read as downloaded (archc.train.layouts), checked before training starts.

A mask has its image's size and holds label ids (mode L, or P: a palette PNG's indices); a layout with a
published table (Cityscapes, ADE20K, CamVid, VOC) maps them to train ids and refuses an id outside the
table; folder layouts take the ids as stored. 255 = ignore. For a one-class model masks are binary: 0 =
background, anything else = the object (0/255 or 0/1 PNGs, the IoT thesis's case).

    data = Segmentation("data/synth", "train", classes=4, shape=(3, 128, 128), normalize=IMAGENET)
    image, mask = data[0]   # float32 3x128x128 normalized, int64 128x128

`Reading(full=True)` keeps every image at its own size (evaluation at full resolution); otherwise images are
resized to `shape` (bilinear; masks nearest). With `Reading(augment=...)` (an archc.train.augment.Augment) a
training item is a random scale of the full image, cropped to `shape` with ignore padding, flipped, optionally
colour-jittered.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from archc.train.classes import IGNORE
from archc.train.layouts import DataError, class_table, find

MASK_MODES = ("L", "P", "1", "I", "I;16")
IN_MEMORY = 1 << 30  # bytes of uint8 pixels held in memory; a larger split is read from disk per item

__all__ = ["DataError", "IGNORE", "Segmentation", "check_splits", "find_pairs", "read_image", "read_mask"]


def find_pairs(root, split: str, fmt=None) -> list:
    """The (image, mask) paths of `split` in whichever layout `root` has."""
    return [(i, m) for i, m, _ in find(root, split, fmt)[1]]


def check_splits(root) -> None:
    """A DataError (one line) unless `root` has train and val pairs: commands that train or score call it
    before they make their output folder or start any work."""
    for split in ("train", "val"):
        find_pairs(root, split)


def content_key(root) -> dict:
    """What identifies a dataset's content cheaply: every file under `root` by relative path, size and
    modification time (not its bytes: hashing a large set would cost more than a short run). A run resumed,
    or a sweep's cached score reused, only on the same key."""
    import hashlib

    root, digest, files, size = Path(root), hashlib.sha256(), 0, 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        st = path.stat()
        digest.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        files, size = files + 1, size + st.st_size
    return {"files": files, "bytes": size, "key": digest.hexdigest()[:16]}


def _opened(path: Path, what: str):
    from PIL import Image

    try:
        return Image.open(path)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # UnidentifiedImageError is an OSError
        raise DataError(f"cannot read {what} {path}: {str(exc).splitlines()[0][:200]}; replace or remove it") from None


def read_image(path: Path, channels: int):
    """The image in 8 bits per channel; a 16-bit grayscale one (depth, thermal) scaled by 1/257 (its full range
    onto 0-255), never clipped; 32-bit integer or float images are refused."""
    from PIL import Image

    with _opened(path, "image") as img:
        try:
            if img.mode.startswith("I;16"):
                arr = (np.asarray(img).astype(np.uint32) * 255 + 32767) // 65535
                img = Image.fromarray(arr.astype(np.uint8), "L")
            elif img.mode in ("I", "F"):
                raise DataError(f"image {path} holds {'32-bit integer' if img.mode == 'I' else 'float'} pixels; "
                                f"archc reads 8- or 16-bit images: convert it")
            return img.convert("L" if channels == 1 else "RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise DataError(f"cannot read image {path}: {str(exc).splitlines()[0][:200]}; replace or remove "
                            f"it") from None


def read_mask(path: Path, classes: int, image_size: tuple, lut=None, layout: str = "") -> np.ndarray:
    """The mask's train ids (uint8, H x W of the image): mapped through the layout's table `lut` (raw id ->
    train id, -1 = not in the table), or checked against the model's classes."""
    from PIL import Image

    with _opened(path, "mask") as img:
        try:
            mode, arr = img.mode, np.asarray(img)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise DataError(f"cannot read mask {path}: {str(exc).splitlines()[0][:200]}; replace or remove "
                            f"it") from None
    if mode not in MASK_MODES:
        raise DataError(f"mask {path} is a {mode} image; masks hold class ids (a grayscale or palette PNG)")
    if arr.shape != image_size:
        raise DataError(f"mask {path} is {arr.shape[1]}x{arr.shape[0]} (WxH) but its image is "
                        f"{image_size[1]}x{image_size[0]}; a mask must have its image's size")
    if lut is not None:
        return _mapped(path, arr, lut, layout)
    if classes == 1:
        return (arr != 0).astype(np.uint8)  # binary masks: 0/255 or 0/1
    ids = arr[arr != IGNORE]
    top = int(ids.max()) if ids.size else 0
    if top >= classes:
        raise DataError(f"mask {path} holds class id {top}, but the model has {classes} classes "
                        f"(ids 0-{classes - 1}, {IGNORE} = ignore); set --var classes= or fix the mask")
    return arr.astype(np.uint8)


def _mapped(path: Path, arr: np.ndarray, lut: np.ndarray, layout: str) -> np.ndarray:
    safe = np.minimum(arr, 255)
    bad = (arr > 255) | (lut[safe] < 0)
    if bad.any():
        known = ", ".join(_ranges(np.flatnonzero(lut >= 0)))
        raise DataError(f"mask {path} holds id {int(arr[bad].flat[0])}, which the {layout} layout's table does "
                        f"not have (ids {known}); is this the right --format, or a damaged mask?")
    return lut[safe].astype(np.uint8)


def _ranges(ids) -> list:
    out, start = [], None
    for k, v in enumerate(ids):
        start = v if start is None else start
        if k + 1 == len(ids) or ids[k + 1] != v + 1:
            out.append(f"{start}" if start == v else f"{start}-{v}")
            start = None
    return out


@dataclass(frozen=True)
class Reading:
    """How a split's items are made: its layout, full size or resized, augmented or not."""

    augment: object = None  # an archc.train.augment.Augment (True: the default one); None: no augmentation
    seed: int = 0  # the augmentation's draws come from (seed, epoch)
    fmt: Optional[str] = None  # the dataset layout (archc.train.layouts); None: detected
    full: bool = False  # every image at its own size (evaluation at full resolution)


class Segmentation:
    """A split checked whole at construction (every image read, every mask mapped), held in memory as uint8
    when it fits IN_MEMORY, else read again per item. Items: normalized float32 images, int64 masks."""

    def __init__(self, root, split: str, classes: int, shape: tuple, normalize: tuple, how: Reading = Reading()):
        import torch

        from archc.train.augment import Augment

        self.classes, self.shape, self.seed, self.epoch, self.full = classes, tuple(shape), how.seed, 0, how.full
        self.augment = Augment() if how.augment is True else (how.augment or None)
        self.layout, found = find(root, split, how.fmt)
        self.pairs = [(i, m) for i, m, _ in found]
        self.tables = [t for _, _, t in found]
        self.names, self.palette, _ = class_table(self.layout, self.tables[0], classes)
        self._held, self.sizes, total = [], [], 0
        for k in range(len(self.pairs)):  # every file read and checked before training starts
            image, mask = self._load(k)
            self.sizes.append(tuple(image.shape[1:]))
            total += image.nbytes + mask.nbytes
            if self._held is not None and total <= IN_MEMORY:
                self._held.append((torch.from_numpy(image), torch.from_numpy(mask)))
            else:
                self._held = None  # too big to hold: read again per item
        mean, std = normalize
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1) * 255
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1) * 255

    def _load(self, k: int):
        """Image k as C x H x W uint8 and its train-id mask, at full size, or resized to the model's input
        unless `full` or augmentation (which starts from the full image) is asked for."""
        from PIL import Image

        image_path, mask_path = self.pairs[k]
        c, h, w = self.shape
        image = read_image(image_path, c)
        _, _, lut = class_table(self.layout, self.tables[k], self.classes)
        mask = read_mask(mask_path, self.classes, (image.height, image.width), lut, self.layout.name)
        if not (self.full or self.augment):
            image, mask = image.resize((w, h), Image.BILINEAR), np.asarray(Image.fromarray(mask).resize((w, h),
                                                                                                    Image.NEAREST))
        arr = np.asarray(image, np.uint8).reshape(image.height, image.width, c).transpose(2, 0, 1)
        return np.array(arr, order="C"), np.array(mask, order="C")

    def raw(self, i: int):
        """Image i as C x H x W uint8 and its mask as H x W uint8 (torch tensors), before augmentation."""
        import torch

        if self._held is not None:
            return self._held[i]
        a, b = self._load(i)
        return torch.from_numpy(a), torch.from_numpy(b)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int):
        image, mask = self.raw(i)
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, i])
            image, mask = self.augment(rng, image, mask, self.shape[1:], self.mean)
        return (image.float() - self.mean) / self.std, mask.long()
