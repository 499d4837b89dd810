"""Datasets: the three layouts, every bad-dataset case as one clear line, the synthetic set's determinism,
and the scores against hand-computed confusion counts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from archc.cli import app

from archc.errors import ArchcError
from archc.lang.normalize import IMAGENET
from archc.train.datasets import Segmentation, find_pairs
from archc.train.metrics import Confusion
from archc.train import scenes
from archc.train.synth import Recipe, sample, synthesize, write

ROOT = Path(__file__).resolve().parent.parent
SHAPE = (3, 16, 16)
runner = CliRunner()


def _pair(folder: Path, name: str, mask: np.ndarray, size=(16, 16), mode: str = "L", suffix=".png"):
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), 120, np.uint8)).save(folder / "images" / f"{name}{suffix}")
    img = Image.fromarray(mask.astype(np.uint8))
    if mode == "P":
        img = img.convert("P")
        img.putpalette([v for i in range(256) for v in (i, 255 - i, 0)])
    img.save(folder / "masks" / f"{name}.png")


def _load(root, split="train", classes=3):
    return Segmentation(root, split, classes, SHAPE, IMAGENET)


def test_split_layout_reads_ids_and_ignore(tmp_path):
    mask = np.zeros((16, 16), np.uint8)
    mask[:8] = 2
    mask[0, 0] = 255
    _pair(tmp_path / "train", "a", mask)
    data = _load(tmp_path)
    x, m = data[0]
    assert x.shape == SHAPE and m.shape == (16, 16)
    assert int(m[0, 0]) == 255 and int(m[7, 5]) == 2 and int(m[8, 5]) == 0
    assert abs(float(x[0, 0, 0]) - (120 / 255 - 0.485) / 0.229) < 1e-5  # ImageNet normalisation


def test_palette_masks_give_their_indices(tmp_path):
    mask = np.zeros((16, 16), np.uint8)
    mask[4:] = 1
    _pair(tmp_path / "train", "a", mask, mode="P")
    assert int(_load(tmp_path)[0][1][10, 0]) == 1


def test_binary_layout_for_one_class(tmp_path):
    mask = np.zeros((16, 16), np.uint8)
    mask[:, 8:] = 255  # the thesis's 0/255 masks
    _pair(tmp_path, "a", mask)
    m = Segmentation(tmp_path, "val", 1, SHAPE, IMAGENET)[0][1]  # one folder pair serves every split
    assert set(np.unique(m.numpy())) == {0, 1} and int(m[0, 15]) == 1


def test_voc_layout(tmp_path):
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (tmp_path / sub).mkdir(parents=True)
    for name, cls in (("2007_000032", 5), ("2007_000039", 20)):
        Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(tmp_path / "JPEGImages" / f"{name}.jpg")
        mask = np.full((20, 24), cls, np.uint8)
        mask[0] = 255  # VOC's object borders
        Image.fromarray(mask).convert("P").save(tmp_path / "SegmentationClass" / f"{name}.png")
    (tmp_path / "ImageSets/Segmentation/val.txt").write_text("2007_000032\n2007_000039\n")
    data = Segmentation(tmp_path, "val", 21, SHAPE, IMAGENET)
    assert len(data) == 2 and int(data[1][1][8, 8]) == 20 and int(data[1][1][0, 0]) == 255


BAD = {  # case -> (how to break a good set, what the one line must say)
    "image without mask": (lambda d: (d / "train/masks/a.png").unlink(), "no mask"),
    "mask wrong size": (lambda d: Image.fromarray(np.zeros((8, 16), np.uint8)).save(d / "train/masks/a.png"),
                        "must have its image's size"),
    "class id above classes": (lambda d: Image.fromarray(np.full((16, 16), 7, np.uint8)).save(d / "train/masks/a.png"),
                               "holds class id 7, but the model has 3 classes"),
    "unreadable image": (lambda d: (d / "train/images/a.png").write_bytes(b"not a png"), "cannot read image"),
    "unreadable mask": (lambda d: (d / "train/masks/a.png").write_bytes(b"\x89PNG broken"), "cannot read mask"),
    "rgb mask": (lambda d: Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(d / "train/masks/a.png"),
                 "is a RGB image"),
    "empty split": (lambda d: [p.unlink() for p in (d / "train/images").iterdir()], "the train split is empty"),
    "no split": (lambda d: __import__("shutil").rmtree(d / "train"), "no train split found"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_dataset_is_one_clear_line(tmp_path, case):
    _pair(tmp_path / "train", "a", np.zeros((16, 16), np.uint8))
    _pair(tmp_path / "train", "b", np.ones((16, 16), np.uint8))
    breaker, words = BAD[case]
    breaker(tmp_path)
    with pytest.raises(ArchcError) as err:
        _load(tmp_path)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_empty_voc_split(tmp_path):
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "ImageSets/Segmentation").mkdir(parents=True)
    (tmp_path / "ImageSets/Segmentation/train.txt").write_text("\n")
    with pytest.raises(ArchcError, match="the train split is empty"):
        find_pairs(tmp_path, "train")


def test_synth_is_deterministic_and_labelled(tmp_path):
    a, b = sample(4, (48, 48), 3, 7), sample(4, (48, 48), 3, 7)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], sample(4, (48, 48), 4, 7)[0])  # the seed matters
    counts = synthesize(tmp_path / "s", 4, 10, (48, 48), seed=3)
    assert counts["train"] == 8 and counts["val"] == 2
    mask = np.asarray(Image.open(tmp_path / "s/train/masks/00007.png"))
    assert np.array_equal(mask, a[1]) and mask.max() <= 3 and len(np.unique(mask)) > 1


def test_synth_cli_writes_what_the_function_writes(tmp_path):
    args = ["--classes", "2", "--images", "3", "--size", "24x32", "--seed", "5"]
    assert runner.invoke(app, ["data", "synth", str(tmp_path / "x"), *args]).exit_code == 0
    synthesize(tmp_path / "y", 2, 3, (24, 32), seed=5)
    files = sorted(p.relative_to(tmp_path / "x") for p in (tmp_path / "x").rglob("*.png"))
    assert len(files) == 6
    assert all((tmp_path / "x" / f).read_bytes() == (tmp_path / "y" / f).read_bytes() for f in files)
    bad = runner.invoke(app, ["data", "synth", str(tmp_path / "z"), "--size", "big"])
    assert bad.exit_code == 2 and "archc: error: --size big: expected HxW" in bad.output


def test_scenes_set_is_deterministic_and_its_classes_are_shape_and_pattern_pairs(tmp_path):
    a, b = scenes.sample(6, (64, 64), 3, 7), scenes.sample(6, (64, 64), 3, 7)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], scenes.sample(6, (64, 64), 4, 7)[0])
    pairs = [scenes.pair(c) for c in range(1, scenes.MAX_CLASSES)]
    assert len(set(pairs)) == len(pairs)  # one (shape, pattern) per class, and neither alone names a class:
    assert all(sum(p[0] == s for p in pairs[:5]) >= 1 for s in range(scenes.SHAPES))
    assert len({p[1] for p in pairs[:5] if p[0] == 0}) == 2  # with 6 classes, shape 0 carries two patterns
    masks = [scenes.sample(6, (64, 64), 0, i)[1] for i in range(60)]
    assert max(m.max() for m in masks) == 5 and {v for m in masks for v in np.unique(m)} == set(range(6))
    areas = [int((m == c).sum()) for m in masks for c in range(1, 6) if (m == c).any()]
    assert max(areas) > 20 * min(areas)  # objects near and far (and cut by the border and each other)
    args = ["--kind", "scenes", "--classes", "3", "--images", "3", "--size", "24x32", "--seed", "5"]
    assert runner.invoke(app, ["data", "synth", str(tmp_path / "x"), *args]).exit_code == 0
    assert write(Recipe("scenes", 3, 3, (24, 32), 5), tmp_path / "y")["kind"] == "scenes"
    files = sorted(p.relative_to(tmp_path / "x") for p in (tmp_path / "x").rglob("*.png"))
    assert len(files) == 6 and all((tmp_path / "x" / f).read_bytes() == (tmp_path / "y" / f).read_bytes()
                                   for f in files)


@pytest.mark.parametrize("args, message", [
    (["--kind", "city"], "--kind city: choose one of stripes, scenes"),
    (["--kind", "scenes", "--classes", "14"], "--classes 14: give 1 to 13 for --kind scenes")])
def test_a_bad_synth_kind_or_class_count_is_one_line_and_writes_nothing(tmp_path, args, message):
    bad = runner.invoke(app, ["data", "synth", str(tmp_path / "z"), *args])
    assert bad.exit_code == 2 and f"archc: error: {message}" in bad.output and len(bad.output.splitlines()) == 1
    assert not (tmp_path / "z").exists()


def test_scores_match_hand_counts():
    conf = Confusion(3)
    target = np.array([[0, 0, 1, 1, 2, 255]])
    logits = np.zeros((1, 3, 1, 6))
    for i, c in enumerate([0, 1, 1, 1, 0, 2]):
        logits[0, c, 0, i] = 1
    conf.add(logits, target)
    s = conf.scores()
    # class 0: tp 1, fp 1 (pixel 4), fn 1 -> 1/3; class 1: tp 2, fp 1 -> 2/3; class 2: tp 0 -> 0
    assert s["per_class_iou"] == [pytest.approx(1 / 3, abs=1e-6), pytest.approx(2 / 3, abs=1e-6), 0.0]
    assert s["pixel_accuracy"] == pytest.approx(3 / 5) and s["pixels"] == 5


def test_one_class_is_a_sigmoid_threshold_not_an_argmax():
    conf = Confusion(1)
    logits = np.array([[[[2.0, -1.0, 0.5, -3.0]]]])  # one channel: argmax would say 0 everywhere
    conf.add(logits, np.array([[[1, 0, 0, 0]]]))
    s = conf.scores()
    assert s["per_class_iou"] == [0.5] and s["miou"] == 0.5 and s["pixel_accuracy"] == 0.75


def test_spec_normalize_field_round_trips_and_is_checked(tmp_path):
    from archc.lang.emit import emit
    from archc.lang.spec import load

    text = (ROOT / "specs/fastscnn.yaml").read_text()
    spec = load("specs/fastscnn.yaml")
    assert spec.normalize is None and spec.normalization() == IMAGENET  # the default
    custom = text.replace("input: [3, 512, 512]", "input: [3, 512, 512]\nnormalize: {mean: [0.5, 0.5, 0.5], "
                                                  "std: [0.25, 0.25, 0.25]}")
    spec = load("x.yaml", text=custom)
    assert spec.normalization() == ((0.5,) * 3, (0.25,) * 3)
    assert load("y.yaml", text=emit(spec)).normalize == spec.normalize  # emit keeps it
    with pytest.raises(ArchcError, match="one value per input channel"):
        load("z.yaml", text=custom.replace("mean: [0.5, 0.5, 0.5]", "mean: [0.5]"))
    with pytest.raises(ArchcError):
        load("w.yaml", text=custom.replace("std: [0.25, 0.25, 0.25]", "std: [0, 1, 1]"))


def test_int8_calibrates_on_train_images_spread_over_the_split(tmp_path):
    """A VOC set's JPEGImages holds both splits, and its first files sorted were val images: calibration
    took them (quantize-report then scored int8 on the images it was fitted to). It now takes the train
    split's own images, spread over its list, and the build's report names them."""
    from archc.onnx.calib import Calibration
    from archc.train.quality import calib_images

    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (tmp_path / sub).mkdir(parents=True)
    names = [f"2007_{i:06d}" for i in range(12)]
    for i, name in enumerate(names):
        Image.fromarray(np.full((20, 24, 3), 10 * i, np.uint8)).save(tmp_path / "JPEGImages" / f"{name}.jpg")
        Image.fromarray(np.full((20, 24), i % 3, np.uint8)).convert("P").save(
            tmp_path / "SegmentationClass" / f"{name}.png")
    val, train = names[:4], names[4:]  # the sorted folder starts with the val images
    (tmp_path / "ImageSets/Segmentation/val.txt").write_text("\n".join(val) + "\n")
    (tmp_path / "ImageSets/Segmentation/train.txt").write_text("\n".join(train) + "\n")
    chosen = calib_images(tmp_path, 4)
    assert [p.stem for p in chosen.paths] == [train[0], train[2], train[4], train[6]]
    assert [p.stem for p in calib_images(tmp_path, 50).paths] == train  # no more than the split has
    calibration = Calibration((3, 8, 8), chosen, samples=4)
    assert calibration.count == 4 and calibration.source == f"4 images of the train split of {tmp_path}"
