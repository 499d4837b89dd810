"""Segmentation datasets in the layouts users have, checked before training starts.

Layouts (found by what DIR holds, in this order):
  voc       DIR/JPEGImages/*.jpg, DIR/SegmentationClass/*.png (palette), DIR/ImageSets/Segmentation/{split}.txt
  split     DIR/{train,val}/images/*  +  DIR/{train,val}/masks/*  (what `archc data synth` writes)
  folders   DIR/images/*  +  DIR/masks/*  (one folder pair, used for every split)
A mask has the image's name (any image suffix) and size and holds class ids (mode L, or P: a palette PNG's
indices); 255 = ignore. For a one-class model masks are binary: 0 = background, anything else = the object
(0/255 or 0/1 PNGs, the IoT thesis's case).

    data = Segmentation("data/synth", "train", classes=4, size=(128, 128))
    image, mask = data[0]   # float32 3x128x128 normalized, int64 128x128
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from archc.errors import ArchcError

IMAGES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
MASKS = (".png", ".bmp", ".tif", ".tiff", ".gif")
IGNORE = 255
MASK_MODES = ("L", "P", "1", "I", "I;16")


class DataError(ArchcError):
    """The dataset is missing, malformed or does not fit the model."""


def _voc(root: Path, split: str) -> list:
    listing = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not listing.is_file():
        raise DataError(f"{root}: a VOC layout needs {listing} (one image name per line)")
    try:
        text = listing.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{listing}: not UTF-8 text (byte {exc.start}); save the listing as UTF-8") from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    return [(root / "JPEGImages" / f"{n}.jpg", root / "SegmentationClass" / f"{n}.png") for n in names]


def _pairs(images: Path, masks: Path) -> list:
    if not masks.is_dir():
        raise DataError(f"{images} has no sibling masks folder {masks}; put each image's mask there")
    out = []
    for image in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGES):
        found = [masks / (image.stem + s) for s in MASKS if (masks / (image.stem + s)).is_file()]
        if not found:
            raise DataError(f"{image}: no mask (looked for {masks / image.stem}.png); add it or remove the image")
        out.append((image, found[0]))
    return out


LAYOUTS = {  # name -> (is this the layout?, the (image, mask) pairs of a split)
    "voc": (lambda r, s: (r / "JPEGImages").is_dir(), _voc),
    "split": (lambda r, s: (r / s / "images").is_dir(), lambda r, s: _pairs(r / s / "images", r / s / "masks")),
    "folders": (lambda r, s: (r / "images").is_dir(), lambda r, s: _pairs(r / "images", r / "masks")),
}


def find_pairs(root, split: str) -> list:
    """The (image, mask) paths of `split` in whichever layout `root` has."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"--data {root}: not a directory; give a dataset folder (e.g. from `archc data synth`)")
    for name, (match, pairs) in LAYOUTS.items():
        if match(root, split):
            found = pairs(root, split)
            if not found:
                raise DataError(f"--data {root}: the {split} split is empty ({name} layout); add images to it")
            return found
    raise DataError(f"--data {root}: no {split} split found; expected {root}/{split}/images + masks, "
                    f"{root}/images + masks, or a VOC folder (JPEGImages, SegmentationClass, ImageSets)")


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
            raise DataError(f"cannot read image {path}: {str(exc).splitlines()[0][:200]}; replace or remove it") from None


def read_mask(path: Path, classes: int, image_size: tuple) -> np.ndarray:
    """The mask's class ids (uint8, H x W of the image), checked against the model's classes."""
    from PIL import Image

    with _opened(path, "mask") as img:
        try:
            mode, arr = img.mode, np.asarray(img)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise DataError(f"cannot read mask {path}: {str(exc).splitlines()[0][:200]}; replace or remove it") from None
    if mode not in MASK_MODES:
        raise DataError(f"mask {path} is a {mode} image; masks hold class ids (a grayscale or palette PNG)")
    if arr.shape != image_size:
        raise DataError(f"mask {path} is {arr.shape[1]}x{arr.shape[0]} (WxH) but its image is "
                        f"{image_size[1]}x{image_size[0]}; a mask must have its image's size")
    if classes == 1:
        return (arr != 0).astype(np.uint8)  # binary masks: 0/255 or 0/1
    ids = arr[arr != IGNORE]
    top = int(ids.max()) if ids.size else 0
    if top >= classes:
        raise DataError(f"mask {path} holds class id {top}, but the model has {classes} classes "
                        f"(ids 0-{classes - 1}, {IGNORE} = ignore); set --var classes= or fix the mask")
    return arr.astype(np.uint8)


class Segmentation:
    """A split resized to the model's input (images bilinear, masks nearest) and held in memory as uint8;
    items are normalized float32 images and int64 masks. `augment`: a random horizontal flip and a random
    crop of 60-100% of the side, drawn from (seed, epoch, index) so a resumed run sees the same batches."""

    def __init__(self, root, split: str, classes: int, shape: tuple, normalize: tuple, augment: bool = False,
                 seed: int = 0):
        import torch

        self.classes, self.shape, self.augment, self.seed, self.epoch = classes, tuple(shape), augment, seed, 0
        self.pairs = find_pairs(root, split)
        images, masks = zip(*(self._load(i, m) for i, m in self.pairs))
        self.images, self.masks = torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(masks))
        mean, std = normalize
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1) * 255
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1) * 255

    def _load(self, image_path: Path, mask_path: Path):
        from PIL import Image

        c, h, w = self.shape
        image = read_image(image_path, c)
        mask = read_mask(mask_path, self.classes, (image.height, image.width))
        image = np.asarray(image.resize((w, h), Image.BILINEAR), np.uint8).reshape(h, w, c).transpose(2, 0, 1)
        return np.ascontiguousarray(image), np.asarray(Image.fromarray(mask).resize((w, h), Image.NEAREST))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int):
        image, mask = self.images[i], self.masks[i]
        if self.augment:
            image, mask = self._augment(i, image, mask)
        return (image.float() - self.mean) / self.std, mask.long()

    def _augment(self, i: int, image, mask):
        import torch.nn.functional as F

        rng = np.random.default_rng([self.seed, self.epoch, i])
        _, h, w = image.shape
        scale = rng.uniform(0.6, 1.0)
        ch, cw = max(1, round(h * scale)), max(1, round(w * scale))
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        image, mask = image[:, y:y + ch, x:x + cw], mask[y:y + ch, x:x + cw]
        image = F.interpolate(image[None].float(), (h, w), mode="bilinear", align_corners=False)[0]
        mask = F.interpolate(mask[None, None].float(), (h, w), mode="nearest")[0, 0]
        if rng.random() < 0.5:
            image, mask = image.flip(-1), mask.flip(-1)
        return image, mask
