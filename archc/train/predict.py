"""`archc predict`: each model's mask for each image, coloured in the dataset's palette, overlaid on the
image, and a contact sheet (image | ground truth if known | each model's prediction, labelled with the model
and its mIoU). A model is a spec with a checkpoint, a run folder (spec.yaml + weights.pt, as `archc train`
writes it) or an .onnx export; images come from files, folders of images, or a dataset (ground truth too).

    archc predict specs/fastscnn.yaml --weights run/weights.pt data/synth -o pred      # val images + masks
    archc predict --models runs/w1 --models runs/w05 --models model.onnx img.png -o pred
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from archc.errors import ArchcError
from archc.fs import atomic_dir
from archc.train import pictures
from archc.train.infer import infer
from archc.train.metrics import Confusion, predict as argmax


@dataclass
class Model:
    label: str
    net: Callable  # N x C x H x W float -> logits
    shape: tuple  # (C, H, W) of its input: the sliding window
    normalize: tuple  # (mean, std)
    classes: int
    mode: str = "whole"  # whole or slide
    miou: Optional[float] = None  # its val mIoU when known (RUN/metrics.json)


def from_compiled(label: str, compiled, weights, miou=None) -> Model:
    from archc.torch.lower import lower
    from archc.train import checkpoint
    from archc.train.env import out_classes
    from archc.train.infer import mode_of

    module = lower(compiled.graph)
    checkpoint.load_own(module, weights)
    module.eval()
    return Model(label, module, compiled.graph.input_shape, compiled.spec.normalization(), out_classes(compiled),
                 mode_of(compiled.graph), miou)


def from_run(run) -> Model:
    """A run folder of `archc train`: its spec.yaml, weights.pt and the final val mIoU of metrics.json."""
    from archc.compile import compile_spec

    run = Path(run)
    if not (run / "spec.yaml").is_file() or not (run / "weights.pt").is_file():
        raise ArchcError(f"--models {run}: a run folder needs spec.yaml and weights.pt (as archc train writes them)")
    return from_compiled(run.name, compile_spec(run / "spec.yaml"), run / "weights.pt", _final_miou(run))


def from_onnx(path) -> Model:
    from archc.onnx import runtime
    from archc.train.evaluate import model_normalization

    path = Path(path)
    if not path.is_file():
        raise ArchcError(f"{path}: no such model file")
    sess = runtime.session(path)
    shape = runtime.input_shape(sess)
    out = sess.get_outputs()[0].shape
    if len(out) != 4 or not isinstance(out[1], int):
        raise ArchcError(f"{path}: its first output has shape {out}; a segmentation model gives NxKxHxW")
    fixed = all(isinstance(d, int) for d in sess.get_inputs()[0].shape[2:])
    net = lambda x: torch.from_numpy(runtime.run_ort(sess, np.ascontiguousarray(x.numpy()))[0])  # noqa: E731
    return Model(path.name, net, shape, model_normalization(path, shape[0]), out[1], "slide" if fixed else "whole",
                 _final_miou(path.parent))


def from_tflite(path) -> Model:
    """A .tflite model in the LiteRT interpreter (fixed input: sliding windows), as from_onnx."""
    from archc.litert.interpreter import Model as Lite
    from archc.train.evaluate import model_normalization

    lite = Lite(path)
    out = lite.output_details[0]["shape"].tolist()
    if len(out) != 4:
        raise ArchcError(f"{path}: its first output has shape {out}; a segmentation model gives NxKxHxW")
    net = lambda x: torch.from_numpy(lite.run(np.ascontiguousarray(x.numpy()))[0])  # noqa: E731
    return Model(lite.path.name, net, lite.input, model_normalization(lite.path, lite.input[0]), out[1], "slide",
                 _final_miou(lite.path.parent))


def _final_miou(folder: Path):
    try:
        return json.loads((folder / "metrics.json").read_text())["final"]["miou"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def sources(items, classes: int, split: str = "val", fmt=None, limit: Optional[int] = None) -> tuple:
    """([(name, image uint8 H x W x 3, ground truth or None)], class names, palette) from image files, folders
    of images, or dataset folders (their `split`, first `limit` images, masks mapped by the layout)."""
    from archc.train import classes as tables
    from archc.train.datasets import DataError, Reading, Segmentation, read_image
    from archc.train.layouts import IMAGES

    out, names, palette = [], *tables.generic(classes)[:2]
    for item in map(Path, items):
        if item.is_dir():
            try:
                data = Segmentation(item, split, classes, (3, 8, 8), ((0, 0, 0), (1, 1, 1)),
                                    Reading(fmt=fmt, full=True))
            except DataError as exc:
                if "no " + split + " split found" not in str(exc):
                    raise
                files = sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGES)
                out += [(p.name, np.asarray(read_image(p, 3)), None) for p in files[:limit]]
                continue
            names, palette = data.names, data.palette
            for i in range(min(len(data), limit or len(data))):
                image, mask = data.raw(i)
                out.append((data.pairs[i][0].name, image.permute(1, 2, 0).numpy(), mask.numpy()))
        elif item.is_file():
            out.append((item.name, np.asarray(read_image(item, 3)), None))
        else:
            raise ArchcError(f"{item}: no such image or folder")
    if not out:
        raise ArchcError(f"{', '.join(map(str, items))}: no images found; give image files or folders")
    return out, names, palette


def run_model(model: Model, image: np.ndarray) -> np.ndarray:
    """H x W class ids of one H x W x 3 uint8 image."""
    mean, std = (torch.tensor(v, dtype=torch.float32).view(-1, 1, 1) * 255 for v in model.normalize)
    x = (torch.from_numpy(np.array(image, np.float32)).permute(2, 0, 1) - mean) / std
    with torch.inference_mode():
        logits = infer(model.net, x[None], model.shape[1:], model.mode)
    return argmax(logits.numpy())[0].astype(np.uint8)


def predict(models: list, images: list, names: list, palette: list, out, force: bool = False) -> dict:
    """Write OUT/masks/<model>/<image>.png, OUT/overlays/<model>/<image>.png and OUT/sheet.png; returns the
    models' labels and mIoU (val mIoU when known, else on these images when they have ground truth)."""
    from PIL import Image

    preds = [[run_model(m, img) for m in models] for _, img, _ in images]
    scores = [_score(m, [p[k] for p in preds], [gt for _, _, gt in images]) for k, m in enumerate(models)]
    with atomic_dir(out, force) as tmp:
        for (name, img, _), row in zip(images, preds):
            for m, pred in zip(models, row):
                for sub, arr in (("masks", pictures.colour(pred, palette)),
                                 ("overlays", pictures.overlay(img, pictures.colour(pred, palette)))):
                    folder = tmp / sub / _safe(m.label)
                    folder.mkdir(parents=True, exist_ok=True)
                    Image.fromarray(arr).save(folder / f"{Path(name).stem}.png")
        _sheet(models, scores, images, preds, names, palette).save(tmp / "sheet.png")
        summary = {"models": [{"label": m.label, **s} for m, s in zip(models, scores)], "images": len(images)}
        (tmp / "predictions.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def _score(model: Model, preds: list, truths: list) -> dict:
    if model.miou is not None:
        return {"miou": model.miou, "miou_on": "val"}
    pairs = [(p, t) for p, t in zip(preds, truths) if t is not None]
    if not pairs:
        return {"miou": None, "miou_on": None}
    conf = Confusion(model.classes)
    for p, t in pairs:
        onehot = np.eye(max(model.classes, 2), dtype=np.float32)[p.astype(np.int64)].transpose(2, 0, 1)[None]
        conf.add(onehot[:, -model.classes:] if model.classes == 1 else onehot, t[None])
    return {"miou": conf.scores()["miou"], "miou_on": f"{len(pairs)} images"}


def _sheet(models, scores, images, preds, names, palette):
    has_gt = any(gt is not None for _, _, gt in images)
    titles = ["image", *(["ground truth"] if has_gt else []),
              *(f"{m.label}\nmIoU {_pct(s['miou'])}" + (f" ({s['miou_on']})" if s["miou_on"] else "")
                for m, s in zip(models, scores))]
    rows = [(name, [img, *([None if gt is None else pictures.colour(gt, palette)] if has_gt else []),
                    *(pictures.colour(p, palette) for p in row)]) for (name, img, gt), row in zip(images, preds)]
    shown = sorted({int(v) for _, _, gt in images if gt is not None for v in np.unique(gt)} |
                   {int(v) for row in preds for p in row for v in np.unique(p)})
    shown = [k for k in shown if k < len(names)]
    return pictures.sheet(rows, titles, ([f"{k} {names[k]}" for k in shown], [palette[k] for k in shown]))


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", label).strip("_") or "model"
