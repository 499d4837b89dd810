"""Pictures of predictions: class-id masks coloured in the dataset's palette, overlays on the image, a
contact sheet (image | ground truth | each model's prediction, labelled) and the confusion matrix, drawn
with Pillow only.

    colour(mask, palette)                       # H x W ids -> H x W x 3, ignore (255) black
    sheet([("a.png", [img, gt, p1, p2])], ["image", "ground truth", "w1 mIoU 46%", "w0.5 mIoU 28%"]).save(...)
"""
from __future__ import annotations

import numpy as np

from archc.fs import atomic_file
from archc.train.classes import IGNORE

CELL = 192  # thumbnail height in the sheet
TEXT = (20, 20, 20)


def colour(mask: np.ndarray, palette) -> np.ndarray:
    table = np.zeros((256, 3), np.uint8)
    table[:len(palette)] = np.asarray(palette, np.uint8)[:256]
    table[IGNORE] = 0
    return table[np.asarray(mask, np.uint8)]


def overlay(image: np.ndarray, coloured: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    return (image.astype(np.float32) * (1 - alpha) + coloured.astype(np.float32) * alpha).astype(np.uint8)


def _font(size: int = 14):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _thumb(arr: np.ndarray, width: int):
    from PIL import Image

    img = Image.fromarray(arr)
    return img.resize((width, CELL), Image.NEAREST if arr.ndim == 3 and len(np.unique(arr[..., 0])) < 64
                      else Image.BILINEAR)


def sheet(rows: list, titles: list, legend=None):
    """A labelled grid: one row per image (its name on the left), one column per title; `legend`: (names,
    palette) of the classes shown, drawn as swatches at the bottom."""
    from PIL import Image, ImageDraw

    h, w = rows[0][1][0].shape[:2]
    cw, left, top, pad = max(CELL * w // h, 96), 150, 44, 6
    width = left + len(titles) * (cw + pad) + pad
    swatch_rows = 0 if legend is None else -(-len(legend[0]) // max(1, width // 170))
    img = Image.new("RGB", (width, top + len(rows) * (CELL + pad) + pad + swatch_rows * 22 + 8), "white")
    draw, font = ImageDraw.Draw(img), _font()
    for j, title in enumerate(titles):
        for k, line in enumerate(str(title).split("\n")[:2]):
            draw.text((left + j * (cw + pad) + 4, 4 + 18 * k), line, fill=TEXT, font=font)
    for i, (name, cells) in enumerate(rows):
        y = top + i * (CELL + pad)
        draw.text((6, y + CELL // 2 - 8), str(name)[:18], fill=TEXT, font=font)
        for j, cell in enumerate(cells):
            if cell is not None:
                img.paste(_thumb(cell, cw), (left + j * (cw + pad), y))
    if legend is not None:
        _legend(draw, legend, top + len(rows) * (CELL + pad) + pad, width, font)
    return img


def _legend(draw, legend, y0: int, width: int, font) -> None:
    names, palette = legend
    per_row = max(1, width // 170)
    for k, (name, rgb) in enumerate(zip(names, palette)):
        x, y = 6 + (k % per_row) * 170, y0 + (k // per_row) * 22
        draw.rectangle((x, y + 2, x + 14, y + 16), fill=tuple(int(v) for v in rgb), outline=TEXT)
        draw.text((x + 20, y), str(name)[:22], fill=TEXT, font=font)


def confusion_png(conf, names, path) -> None:
    """The confusion matrix, each row (true class) normalised to 1, darker = more; class names on the rows,
    ids on the columns (predicted class)."""
    from PIL import Image, ImageDraw

    m = conf.matrix.astype(np.float64)
    rows = m / np.maximum(m.sum(1, keepdims=True), 1)
    n = len(rows)
    cell = max(8, min(40, 760 // n))
    left, top = 170, 60
    img = Image.new("RGB", (max(left + n * cell + 10, 420), top + n * cell + 10), "white")
    draw, font = ImageDraw.Draw(img), _font(12 if n > 20 else 14)
    draw.text((left, 4), "predicted class (id) ->", fill=TEXT, font=font)
    draw.text((6, 4), "true class", fill=TEXT, font=font)
    names = list(names)[-n:] if len(names) >= n else [f"class {k}" for k in range(n)]
    for i in range(n):
        if cell >= 12 or i % 5 == 0:
            draw.text((left + i * cell + 2, top - 20), str(i), fill=TEXT, font=font)
            draw.text((6, top + i * cell + (cell - 14) // 2), f"{i} {names[i]}"[:22], fill=TEXT, font=font)
        for j in range(n):
            v = int(255 * (1 - rows[i, j]))
            draw.rectangle((left + j * cell, top + i * cell, left + (j + 1) * cell - 1, top + (i + 1) * cell - 1),
                           fill=(v, v, 255), outline=(200, 200, 200) if cell >= 12 else None)
    with atomic_file(path) as tmp:
        img.save(tmp, format="PNG")
