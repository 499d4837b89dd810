"""torchvision's own models (random init, no download) -> state_dict -> archc spec: the max output
difference per model, in PyTorch and in the exported ONNX. Run outside CI, in a venv with torchvision
(see DEVELOPERS.md), with archc on the path:

    PYTHONPATH=. /work/tvenv/bin/python benchmarks/torchvision_weights.py   # writes torchvision_weights.md
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torchvision
from torchvision.models import segmentation as seg

from archc.compile import compile_spec
from archc.onnx.export import export_onnx
from archc.torch.weights import lowered_report, randomize_bn

ROOT = Path(__file__).resolve().parent.parent
MODELS = {  # torchvision builder -> (archc spec, input)
    "mobilenet_v2": (torchvision.models.mobilenet_v2, "specs/mobilenetv2.yaml", "3x224x224"),
    "mobilenet_v3_large": (torchvision.models.mobilenet_v3_large, "specs/mobilenetv3_large.yaml", "3x224x224"),
    "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small, "specs/mobilenetv3_small.yaml", "3x224x224"),
    "deeplabv3_mobilenet_v3_large": (seg.deeplabv3_mobilenet_v3_large,
                                     "examples/torchvision/deeplabv3_mobilenetv3_large.yaml", "3x512x512"),
    "lraspp_mobilenet_v3_large": (seg.lraspp_mobilenet_v3_large,
                                  "specs/lraspp_mobilenetv3_large.yaml", "3x512x512"),
}


def randomized(model):
    """torchvision initialises BN to the identity; random statistics make a swapped BN show."""
    torch.manual_seed(0)
    randomize_bn(model)
    return model.eval()


def out(y):
    return y["out"] if isinstance(y, dict) else y


def measure(name: str, tmp: Path, text: str | None = None) -> dict:
    make, spec, size = MODELS[name]
    seg_model = make.__module__.startswith("torchvision.models.segmentation")
    model = randomized(make(weights=None, **({"weights_backbone": None} if seg_model else {})))  # no download
    ckpt = tmp / f"{name}.pth"
    torch.save(model.state_dict(), ckpt)  # what a user downloads: a plain state_dict
    graph = compile_spec(ROOT / spec, input=size, text=text).graph
    module, report = lowered_report(graph, ckpt)
    x = torch.randn(1, *graph.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = out(model(x)), module(x)
    row = {"model": name, "spec": spec, "size": size, "paired": len(report.paired), "how": report.how,
           "scale": float(want.abs().max()), "torch": float((got - want).abs().max())}
    if text is None:
        export_onnx(graph, tmp / f"{name}.onnx", weights=module.state_dict())
        sess = ort.InferenceSession(str(tmp / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        row["onnx"] = float(np.abs(sess.run(None, {"input": x.numpy()})[0] - want.numpy()).max())
    return row


def main() -> None:
    rows, tmp = [], Path(tempfile.mkdtemp())
    for name in MODELS:
        rows.append(measure(name, tmp))
        print(rows[-1], file=sys.stderr)
    spec = (ROOT / MODELS["deeplabv3_mobilenet_v3_large"][1]).read_text()
    timm_rule = spec.replace("{stride: 16, dilate_strided: true}", "16")  # the other convention
    other = measure("deeplabv3_mobilenet_v3_large", tmp, timm_rule)
    lines = ["# torchvision's state_dicts in archc's specs", "",
             f"torchvision {torchvision.__version__}, torch {torch.__version__}; random-init models (BN statistics "
             "randomised), `torch.save(model.state_dict())`, loaded with `--weights` by module order; one "
             "seeded input (224x224 for the classifiers, 512x512 for the segmentation models). Max |archc - "
             "torchvision| over the output, and that over the output's max |value|:", "",
             "| torchvision model | archc spec | input | tensors paired | max output | PyTorch diff (rel.) "
             "| ONNX diff (rel.) |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['spec']} | {r['size']} | {r['paired']} | {r['scale']:.3g} | {r['torch']:.2e} "
              f"({r['torch'] / r['scale']:.1e}) | {r['onnx']:.2e} ({r['onnx'] / r['scale']:.1e}) |" for r in rows]
    lines += ["", f"The same DeepLabV3 state_dict in the spec with timm's output-stride rule (`output_stride: 16`: "
              f"the block giving up its stride keeps dilation 1) differs by {other['torch']:.2e} ({other['torch'] / other['scale']:.1e} of the output): the rule matters.",
              "", "Reproduce: `PYTHONPATH=. /work/tvenv/bin/python benchmarks/torchvision_weights.py`."]
    (ROOT / "benchmarks" / "torchvision_weights.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
