"""mIoU, per-class IoU and pixel accuracy of a model on a split at full resolution: a torch module, an ONNX
model run by ONNX Runtime or a .tflite model run by LiteRT, so float32, int8 and fp16 exports are scored on
the same images with the same code. Each image is inferred whole or in sliding windows (archc.train.infer),
optionally flipped and at several scales.

    archc eval specs/fastscnn.yaml --weights run/weights.pt --data data/synth --json
    archc eval out/model.int8.onnx --data data/synth
    archc eval out/model.int8.tflite --data data/synth
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from archc.errors import ArchcError
from archc.lang.normalize import default_normalization
from archc.lang.spec import load
from archc.torch.lower import lower
from archc.train import checkpoint
from archc.train.datasets import Reading, Segmentation
from archc.train.env import deterministic, out_classes
from archc.train.infer import accepts, infer, mode_of
from archc.train.metrics import Confusion


@dataclass(frozen=True)
class Inference:
    """How a split is read and each of its images inferred (archc eval's options); each evaluate_* uses
    the fields that apply to its model."""

    split: str = "val"
    mode: str = "auto"  # auto, whole or slide (archc.train.infer)
    fmt: Optional[str] = None  # the dataset layout (archc.train.layouts); None: detected
    flip: bool = False
    scales: tuple = (1.0,)
    threads: int = 1
    batch: int = 8  # torch modules: images per forward pass
    normalize: Optional[tuple] = None  # ONNX/.tflite: (mean, std); None: the spec.yaml beside it, else ImageNet's


def evaluate_module(module, data: Segmentation, how: Inference = Inference(), device=None, conf=None) -> dict:
    """Scores of a torch module (eval mode, batch norm's running statistics) on `data` (`how`: its batch,
    mode, flip and scales); `conf`: a Confusion to count into (for the confusion-matrix picture)."""
    device = device or next(module.parameters()).device
    was_training = module.training
    module.eval()
    conf = (conf or Confusion(data.classes)).fit(data.classes)
    used = set()
    with torch.inference_mode():
        for idx in _same_size_batches(data, how.batch):
            items = [data[i] for i in idx]
            x, m = torch.stack([a for a, _ in items]).to(device), torch.stack([b for _, b in items])
            mode = _mode(module, data, tuple(x.shape[-2:]), how.mode, device)
            used.add(mode)
            conf.add(infer(module, x, data.shape[1:], mode, how.flip, how.scales).numpy(), m.numpy())
    module.train(was_training)
    return _scores(conf, data, used)


def _scores(conf, data, used) -> dict:
    return {**conf.scores(), "images": len(data), "inference": "+".join(sorted(used)), "classes": data.names}


def _mode(net, data, size, mode, device="cpu") -> str:
    if mode != "auto":
        return mode
    return "whole" if accepts(net, data.shape[1:], size, data.shape[0], device) else "slide"


def _same_size_batches(data, batch: int):
    """Indices in order, cut where the image size changes (full-resolution images may differ)."""
    run, size = [], None
    for i in range(len(data)):
        s = data.sizes[i]
        if run and (s != size or len(run) == batch):
            yield run
            run = []
        run, size = run + [i], s
    if run:
        yield run


def evaluate_onnx(model_path, data_dir, how: Inference = Inference(), conf=None) -> dict:
    """Scores of an ONNX model in ONNX Runtime, one image at a time; a fixed input size means sliding windows
    (`auto`); `how.normalize` (mean, std) defaults to the spec.yaml beside the model, else ImageNet's."""
    from archc.onnx import runtime

    model_path = _existing(model_path)
    sess = runtime.session(model_path, how.threads)
    net = lambda x: torch.from_numpy(runtime.run_ort(sess, np.ascontiguousarray(x.numpy()))[0])  # noqa: E731
    fixed = all(isinstance(d, int) for d in sess.get_inputs()[0].shape[2:])
    model = (net, runtime.input_shape(sess), sess.get_outputs()[0].shape, fixed)
    return _score(model_path, model, (data_dir, how), conf)


def evaluate_tflite(model_path, data_dir, how: Inference = Inference(), conf=None) -> dict:
    """Scores of a .tflite model in the LiteRT interpreter (XNNPACK), as `evaluate_onnx` scores ONNX (its input
    size is fixed: `auto` slides windows of it)."""
    from archc.litert.interpreter import Model

    lite = Model(_existing(model_path), how.threads)
    net = lambda x: torch.from_numpy(lite.run(np.ascontiguousarray(x.numpy()))[0])  # noqa: E731
    model = (net, lite.input, lite.output_details[0]["shape"].tolist(), True)
    return _score(lite.path, model, (data_dir, how), conf)


def _existing(model_path) -> Path:
    model_path = Path(model_path)
    if not model_path.is_file():
        raise ArchcError(f"{model_path}: no such model file")
    return model_path


def _score(model_path: Path, model: tuple, where: tuple, conf) -> dict:
    """(net, input shape, output shape, fixed input) scored on (data_dir, Inference)."""
    (net, shape, out, fixed), (data_dir, how) = model, where
    classes = out[1] if len(out) == 4 and isinstance(out[1], int) else None
    if classes is None:
        raise ArchcError(f"{model_path}: its first output has shape {out}; a segmentation model gives NxKxHxW")
    norm = how.normalize or model_normalization(model_path, shape[0])
    data = Segmentation(data_dir, how.split, classes, shape, norm, Reading(fmt=how.fmt, full=True))
    mode = ("slide" if fixed else "whole") if how.mode == "auto" else how.mode
    conf = (conf or Confusion(classes)).fit(classes)
    for i in range(len(data)):
        x, m = data[i]
        conf.add(infer(net, x[None], shape[1:], mode, how.flip, how.scales).numpy(), m[None].numpy())
    return {**_scores(conf, data, {mode}), "model": str(model_path)}


def model_normalization(model_path: Path, channels: int) -> tuple:
    """The normalisation of the spec.yaml that `archc build` wrote beside the model, or the default."""
    spec_file = model_path.parent / "spec.yaml"
    if spec_file.is_file():
        try:
            return load(spec_file).normalization()
        except ArchcError:
            pass  # not a spec we can read: the default, as for a bare .onnx file
    return default_normalization(channels)


def with_weights(compiled, weights) -> tuple:
    """(`compiled` lowered with the weights of an archc checkpoint, what it took from the file: say it when it
    is not "its state_dict", e.g. a training checkpoint's model weights)."""
    module = lower(compiled.graph)
    return module, checkpoint.load_own(module, weights)


def evaluate_checkpoint(compiled, module, data_dir, how: Inference = Inference(), conf=None) -> dict:
    """Scores of `compiled`'s `module` (with_weights) at full resolution (normalised as its spec says)."""
    with deterministic(how.threads):
        data = Segmentation(data_dir, how.split, out_classes(compiled), compiled.graph.input_shape,
                            compiled.spec.normalization(), Reading(fmt=how.fmt, full=True))
        if how.mode == "auto":
            how = replace(how, mode=mode_of(compiled.graph))
        return evaluate_module(module, data, how, torch.device("cpu"), conf)


def side_by_side(scores: dict) -> dict:
    """{"float32": s, "int8": s} -> the same plus each model's mIoU drop from float32."""
    ref = scores.get("float32", {}).get("miou")
    return {name: {**s, "miou_drop": None if ref is None or s["miou"] is None else round(ref - s["miou"], 6)}
            for name, s in scores.items()}
