"""What quantization costs a trained model: its float32 ONNX export and the quantized one, both scored by
ONNX Runtime on the same val images, int8 calibrated on the train split's images.

    from archc.train.quality import quantized_quality
    quantized_quality(compiled, "run/weights.pt", "data/synth", "int8", "out")
    # {"float32": {"miou": 0.62, ...}, "int8": {"miou": 0.61, "miou_drop": 0.01, ...}}
"""
from __future__ import annotations

from pathlib import Path

from archc.errors import ArchcError
from archc.onnx.export import export_module, save_checked
from archc.onnx.quantize import quantize
from archc.passes.quantize import MODES, QuantizePass
from archc.torch.lower import lower
from archc.torch.provenance import name_nodes, scoped
from archc.train import checkpoint
from archc.train.datasets import find_pairs
from archc.train.evaluate import Inference, evaluate_onnx, side_by_side


def export_trained(compiled, weights, path) -> Path:
    """The model with `weights` as one checked ONNX file at `path` (BN folded, nodes named by spec path)."""
    module = lower(compiled.graph)
    checkpoint.load_own(module, weights)
    module.eval()
    model = export_module(scoped(module), compiled.graph.input_shape, len(compiled.graph.outputs),
                          name=compiled.graph.name)
    name_nodes(model, compiled.graph)
    save_checked(model, path)
    return Path(path)


def calib_images(data_dir, samples: int):
    """`samples` images of the train split, spread evenly over its sorted list (archc.onnx.calib.Chosen):
    never a val image (a VOC set's JPEGImages folder holds both splits, and its first files are not the
    train split's), and not one city or scene only."""
    from archc.onnx.calib import Chosen

    pairs = find_pairs(data_dir, "train")
    n = min(samples, len(pairs))
    picked = tuple(pairs[i * len(pairs) // n][0] for i in range(n))
    return Chosen(picked, f"{len(picked)} images of the train split of {data_dir}")


def quantized_quality(compiled, weights, data_dir, mode: str, folder, samples: int = 32) -> dict:
    """Export, quantize (int8 calibrated on `samples` train images) and score both models on val:
    {"float32": scores, mode: scores}, each with its `miou_drop` from float32."""
    if mode not in MODES:
        raise ArchcError(f"--quantize {mode}: choose one of {', '.join(MODES)}")
    folder = Path(folder)
    f32 = export_trained(compiled, weights, folder / "model.onnx")
    norm = compiled.spec.normalization()  # calibration images get the same as the scored ones
    q = quantize(f32, QuantizePass(mode, samples=samples), compiled.graph.input_shape,
                 calib_images(data_dir, samples) if mode == "int8" else None, normalize=norm)
    how = Inference(normalize=norm)
    scores = {"float32": evaluate_onnx(f32, data_dir, how), mode: evaluate_onnx(q.path, data_dir, how)}
    return side_by_side(scores)
