"""mIoU, per-class IoU and pixel accuracy of a model on a split: a torch module, an ONNX model run by
ONNX Runtime or a .tflite model run by LiteRT, so float32, int8 and fp16 exports are scored on the
same images with the same code.

    archc eval specs/fastscnn.yaml --weights run/weights.pt --data data/synth --json
    archc eval out/model.int8.onnx --data data/synth
    archc eval out/model.int8.tflite --data data/synth
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from archc.errors import ArchcError
from archc.lang.normalize import default_normalization
from archc.lang.spec import load
from archc.torch.lower import lower
from archc.train import checkpoint
from archc.train.datasets import Segmentation
from archc.train.env import deterministic, out_classes
from archc.train.metrics import Confusion


def _sized(logits, size):
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(torch.as_tensor(logits), tuple(size), mode="bilinear", align_corners=False)


def evaluate_module(module, data: Segmentation, batch: int = 8, device=None) -> dict:
    """Scores of a torch module (eval mode, batch norm's running statistics) on `data`."""
    device = device or next(module.parameters()).device
    was_training = module.training
    module.eval()
    conf = Confusion(data.classes)
    with torch.inference_mode():
        for start in range(0, len(data), batch):
            items = [data[i] for i in range(start, min(start + batch, len(data)))]
            x, m = torch.stack([a for a, _ in items]).to(device), torch.stack([b for _, b in items])
            out = module(x)
            out = out[0] if isinstance(out, (tuple, list)) else out
            conf.add(_sized(out, m.shape[-2:]).float().cpu().numpy(), m.numpy())
    module.train(was_training)
    return {**conf.scores(), "images": len(data)}


def evaluate_onnx(model_path, data_dir, split: str = "val", normalize=None, threads: int = 1) -> dict:
    """Scores of an ONNX model in ONNX Runtime, one image at a time (exports have a batch of 1);
    `normalize` (mean, std) defaults to the spec.yaml beside the model, else ImageNet's."""
    from archc.onnx import runtime

    model_path = _existing(model_path)
    sess = runtime.session(model_path, threads)
    return _score(model_path, lambda x: runtime.run_ort(sess, x)[0], runtime.input_shape(sess),
                  sess.get_outputs()[0].shape, data_dir, split, normalize)


def evaluate_tflite(model_path, data_dir, split: str = "val", normalize=None, threads: int = 1) -> dict:
    """Scores of a .tflite model in the LiteRT interpreter (XNNPACK), as `evaluate_onnx` scores ONNX."""
    from archc.litert.interpreter import Model

    model = Model(_existing(model_path), threads)
    return _score(model.path, lambda x: model.run(x)[0], model.input, model.output_details[0]["shape"].tolist(),
                  data_dir, split, normalize)


def _existing(model_path) -> Path:
    model_path = Path(model_path)
    if not model_path.is_file():
        raise ArchcError(f"{model_path}: no such model file")
    return model_path


def _score(model_path: Path, run, shape, out, data_dir, split, normalize) -> dict:
    classes = out[1] if len(out) == 4 and isinstance(out[1], int) else None
    if classes is None:
        raise ArchcError(f"{model_path}: its first output has shape {out}; a segmentation model gives NxKxHxW")
    data = Segmentation(data_dir, split, classes, shape, normalize or model_normalization(model_path, shape[0]))
    conf = Confusion(classes)
    for i in range(len(data)):
        x, m = data[i]
        logits = run(x[None].numpy())
        conf.add(_sized(torch.from_numpy(logits), m.shape).numpy(), m[None].numpy())
    return {**conf.scores(), "images": len(data), "model": str(model_path)}


def model_normalization(model_path: Path, channels: int) -> tuple:
    """The normalisation of the spec.yaml that `archc build` wrote beside the model, or the default."""
    spec_file = model_path.parent / "spec.yaml"
    if spec_file.is_file():
        try:
            return load(spec_file).normalization()
        except ArchcError:
            pass  # not a spec we can read: the default, as for a bare .onnx file
    return default_normalization(channels)


def evaluate_checkpoint(compiled, weights, data_dir, split: str = "val", batch: int = 8, threads: int = 1) -> dict:
    """Scores of `compiled` with the weights of an archc checkpoint."""
    with deterministic(threads):
        module = lower(compiled.graph)
        checkpoint.load_own(module, weights)
        data = Segmentation(data_dir, split, out_classes(compiled), compiled.graph.input_shape,
                            compiled.spec.normalization())
        return evaluate_module(module, data, batch, torch.device("cpu"))


def side_by_side(scores: dict) -> dict:
    """{"float32": s, "int8": s} -> the same plus each model's mIoU drop from float32."""
    ref = scores.get("float32", {}).get("miou")
    return {name: {**s, "miou_drop": None if ref is None or s["miou"] is None else round(ref - s["miou"], 6)}
            for name, s in scores.items()}
