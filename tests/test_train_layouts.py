"""Datasets as downloaded: tiny Cityscapes, ADE20K and CamVid folders in their real layouts and file names
train one epoch and evaluate; the label mapping is checked pixel by pixel; a bad dataset is one line naming
the file, and nothing is written."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from archc.cli import app
from archc.errors import ArchcError
from archc.lang.normalize import IMAGENET
from archc.train.datasets import Reading, Segmentation
from tinyspec import STEM, tiny_spec

runner = CliRunner()
H, W = 24, 48
TINY = tiny_spec(H, W, rows=(STEM,), scale=2)
# raw label id -> the train id it must become (255 = ignore), per layout
CITYSCAPES = {7: 0, 0: 255, 26: 13, 1: 255, 33: 18, 8: 1}  # road, unlabeled, car, ego vehicle, bicycle, sidewalk
ADE20K = {1: 0, 0: 255, 150: 149, 13: 12, 3: 2}  # wall, "other", flag, person, sky
CAMVID = {3: 3, 11: 255, 0: 0, 10: 10, 8: 8}  # road, Unlabelled, sky, bicyclist, car


def _mask(ids: dict, k: int) -> np.ndarray:
    """Vertical bands of the raw ids, shifted per image so every image holds all of them."""
    raw = list(ids)
    cols = (np.arange(W) * len(raw) // W + k) % len(raw)
    return np.repeat(np.array(raw, np.uint8)[cols][None], H, 0)


def _image(path: Path, k: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(k)
    Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(path)


def _label(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def make_cityscapes(root: Path) -> Path:
    for split, cities in (("train", ("aachen", "aachen", "bochum")), ("val", ("frankfurt", "lindau"))):
        for k, city in enumerate(cities):
            stem = f"{city}_{k:06d}_000019"
            _image(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", k)
            _label(root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", _mask(CITYSCAPES, k))
    return root


def make_ade20k(root: Path) -> Path:
    base = root / "ADEChallengeData2016"
    for split, name, n in (("training", "train", 3), ("validation", "val", 2)):
        for k in range(n):
            stem = f"ADE_{name}_{k + 1:08d}"
            _image(base / "images" / split / f"{stem}.jpg", k)
            _label(base / "annotations" / split / f"{stem}.png", _mask(ADE20K, k))
    return root


def make_camvid(root: Path) -> Path:
    base = root / "CamVid"
    for split, n in (("train", 3), ("val", 2), ("test", 2)):
        for k in range(n):
            name = f"0001TP_{6690 + 30 * k:06d}.png"
            _image(base / split / name, k)
            _label(base / f"{split}annot" / name, _mask(CAMVID, k))
    return root


LAYOUTS = {"cityscapes": (make_cityscapes, CITYSCAPES, 19, "road"), "ade20k": (make_ade20k, ADE20K, 150, "wall"),
           "camvid": (make_camvid, CAMVID, 11, "sky")}


@pytest.mark.parametrize("name", LAYOUTS)
def test_layout_maps_every_pixel_as_its_table_says(tmp_path, name):
    make, ids, classes, _ = LAYOUTS[name]
    root = make(tmp_path / name)
    data = Segmentation(root, "train", classes, (3, H, W), IMAGENET, Reading(full=True))
    assert data.layout.name == name and len(data) == 3
    for k in range(len(data)):
        expected = np.vectorize(ids.get)(_mask(ids, k))  # the hand-written mapping, pixel by pixel
        assert np.array_equal(data.raw(k)[1].numpy(), expected)


@pytest.mark.parametrize("name", LAYOUTS)
def test_layout_trains_one_epoch_and_evaluates(tmp_path, name):
    make, _, classes, first = LAYOUTS[name]
    root = make(tmp_path / name)
    (tmp_path / "tiny.yaml").write_text(TINY)
    common = [str(tmp_path / "tiny.yaml"), "--var", f"classes={classes}", "--data", str(root)]
    result = runner.invoke(app, ["train", *common, "--epochs", "1", "--batch", "2", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run/metrics.json").read_text())
    assert metrics["classes"][0] == first and len(metrics["final"]["per_class_iou"]) == classes
    header = (tmp_path / "run/metrics.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,train_loss,lr,miou,pixel_accuracy,iou " + first)
    result = runner.invoke(app, ["eval", *common, "--format", name, "--weights", str(tmp_path / "run/weights.pt"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["images"] == 2 and scores["miou"] == metrics["final"]["miou"]
    ids = LAYOUTS[name][1]
    ignored = sum(int(np.isin(_mask(ids, k), [r for r, t in ids.items() if t == 255]).sum()) for k in range(2))
    assert ignored > 0 and scores["pixels"] == 2 * H * W - ignored  # the val images' ignored ids are not scored


def test_cityscapes_train_ids_files_are_used_when_present(tmp_path):
    root = make_cityscapes(tmp_path / "cs")
    label = root / "gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png"
    train_ids = np.full((H, W), 255, np.uint8)
    train_ids[:, :10] = 5  # pole
    _label(label, train_ids)
    data = Segmentation(root, "train", 19, (3, H, W), IMAGENET, Reading(full=True))
    assert np.array_equal(data.raw(0)[1].numpy(), train_ids) and data.pairs[0][1] == label
    _label(label, np.full((H, W), 19, np.uint8))  # train ids stop at 18
    with pytest.raises(ArchcError, match="labelTrainIds.png holds id 19, which the cityscapes layout's table"):
        Segmentation(root, "train", 19, (3, H, W), IMAGENET)


BAD = {  # case -> (break a good Cityscapes folder, the CLI args, what the one line says)
    "id outside the table": (
        lambda r: _label(r / "gtFine/train/bochum/bochum_000002_000019_gtFine_labelIds.png",
                         np.full((H, W), 40, np.uint8)),
        [], "bochum_000002_000019_gtFine_labelIds.png holds id 40, which the cityscapes layout's table does not "
            "have (ids 0-33, 255)"),
    "image without mask": (
        lambda r: (r / "gtFine/train/aachen/aachen_000001_000019_gtFine_labelIds.png").unlink(), [],
        "aachen_000001_000019_leftImg8bit.png: no mask (looked for"),
    "wrong layout": (lambda r: None, ["--format", "ade20k"],
                     "no train split found; looked for ade20k ([ADEChallengeData2016/]images/ + annotations/)"),
    "wrong class count": (lambda r: None, ["--var", "classes=3"],
                          "the cityscapes layout has 19 classes but the model has 3; set --var classes=19"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_dataset_is_one_line_naming_the_file_and_nothing_is_written(tmp_path, case):
    breaker, extra, words = BAD[case]
    root = make_cityscapes(tmp_path / "cs")
    breaker(root)
    (tmp_path / "tiny.yaml").write_text(TINY)
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(tmp_path / "tiny.yaml"), "--var", "classes=19", *extra, "--data",
                                 str(root), "--epochs", "1", "--out", str(out)])
    assert result.exit_code == 2 and words in result.output, result.output
    assert result.output.count("archc: error:") == 1 and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_a_folder_of_no_layout_says_what_was_looked_for(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(ArchcError) as err:
        Segmentation(tmp_path / "photos", "train", 3, (3, H, W), IMAGENET)
    for name in ("cityscapes (leftImg8bit/ + gtFine/)", "ade20k", "camvid ([CamVid/]train/ + trainannot/)", "voc",
                 "split (train/images/ + masks/)", "folders (images/ + masks/)"):
        assert name in str(err.value)
    assert "\n" not in str(err.value)


def test_a_split_too_big_to_hold_is_read_per_item_with_the_same_items(tmp_path, monkeypatch):
    import archc.train.datasets as datasets

    root = make_camvid(tmp_path / "cv")
    held = Segmentation(root, "train", 11, (3, H, W), IMAGENET, Reading(full=True))
    monkeypatch.setattr(datasets, "IN_MEMORY", 2 * H * W * 4)  # room for one image and a half
    lazy = Segmentation(root, "train", 11, (3, H, W), IMAGENET, Reading(full=True))
    assert held._held is not None and lazy._held is None and lazy.sizes == [(H, W)] * 3
    assert all(torch_equal(held[i], lazy[i]) for i in range(3))


def torch_equal(a, b) -> bool:
    return all(bool((x == y).all()) for x, y in zip(a, b))


def test_voc_has_its_names_and_a_voc_style_folder_of_other_classes_reads_as_stored(tmp_path):
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (tmp_path / sub).mkdir(parents=True)
    Image.fromarray(np.full((H, W, 3), 90, np.uint8)).save(tmp_path / "JPEGImages/2007_000032.jpg")
    mask = np.full((H, W), 15, np.uint8)  # person
    mask[0] = 255
    Image.fromarray(mask).convert("P").save(tmp_path / "SegmentationClass/2007_000032.png")
    (tmp_path / "ImageSets/Segmentation/train.txt").write_text("2007_000032\n")
    voc = Segmentation(tmp_path, "train", 21, (3, H, W), IMAGENET, Reading(full=True))
    assert voc.names[15] == "person" and tuple(voc.palette[15]) == (192, 128, 128)
    assert np.array_equal(voc.raw(0)[1].numpy(), mask)
    with pytest.raises(ArchcError, match="holds class id 15, but the model has 4 classes"):
        Segmentation(tmp_path, "train", 4, (3, H, W), IMAGENET)
