"""Independent plain-torch models (tests/refnets, written from the papers) give their state_dicts to
the shipped specs through the default mapping: the compiled module, and the ONNX model exported with
those weights, compute the reference model's outputs within 1e-5."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from archc.compile import compile_spec
from archc.torch.weights import lowered, lowered_report, randomize_bn
from refnets.deeplab import DeepLabV3PlusMobileNetV2
from refnets.erfnet import ERFNet
from refnets.essnet import ESSNetA, ESSNetB
from refnets.lraspp import LRASPP
from refnets.mobilenet import MobileNetV2, mobilenet_v3_large, mobilenet_v3_small
from refnets.mobilenetv4 import mobilenetv4_conv_medium

TOL = 1e-5
CASES = {  # spec -> (reference model, input, weights map, spec variables)
    "mobilenetv2": (lambda: MobileNetV2(), "3x64x64", None, None),
    "mobilenetv3_large": (lambda: mobilenet_v3_large(), "3x64x64", None, None),
    "mobilenetv3_small": (lambda: mobilenet_v3_small(), "3x64x64", None, None),
    "deeplabv3plus_mobilenetv2": (lambda: DeepLabV3PlusMobileNetV2(), "3x64x64", None, None),
    # the authors' code keeps the encoder's classifier inside the encoder: one explicit pair
    "erfnet": (lambda: ERFNet(), "3x64x128", {"encoder_head.0.0": "encoder.output_conv"}, None),
    "essnetb": (lambda: ESSNetB(), "3x32x64", None, None),
    "essnetb-dg4s": (lambda: ESSNetB(groups=4, shuffle=True), "3x32x64", None, {"groups": 4, "shuffle": True}),
    "mobilenetv4_conv_medium": (lambda: mobilenetv4_conv_medium(), "3x64x64", None, None),
    "lraspp_mobilenetv3_large": (lambda: LRASPP(), "3x64x64", None, None),
    "essneta": (lambda: ESSNetA(), "3x32x64", None, None),
    "essneta-dg2s": (lambda: ESSNetA(groups=2, shuffle=True), "3x32x64", None, {"groups": 2, "shuffle": True}),
}


def randomized(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random BN statistics and affine parameters too, so that a swapped BN would show."""
    torch.manual_seed(seed)
    randomize_bn(model)
    return model.eval()


def reference(name: str):
    make, size, wmap, variables = CASES[name]
    graph = compile_spec(f"specs/{name.split('-')[0]}.yaml", input=size, variables=variables).graph
    ref = randomized(make())
    x = torch.randn(2, *graph.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = ref(x)
    return graph, ref, x, (want if isinstance(want, tuple) else (want,)), wmap


def _max_diff(got, want) -> float:
    got = got if isinstance(got, (tuple, list)) else (got,)
    return max(float((torch.as_tensor(g) - w).abs().max()) for g, w in zip(got, want))


@pytest.mark.parametrize("name", CASES)
def test_reference_state_dict_gives_the_reference_outputs(name):
    graph, ref, x, want, wmap = reference(name)
    module, report = lowered_report(graph, ref.state_dict(), wmap)
    assert len(report.paired) == sum(1 for k in ref.state_dict() if not k.endswith("num_batches_tracked"))
    with torch.no_grad():
        assert _max_diff(module(x), want) <= TOL * max(1.0, max(float(w.abs().max()) for w in want))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["erfnet"])  # ~20 s on 2 cores; the MobileNets: benchmarks/torchvision_weights.md
def test_exported_onnx_with_reference_weights(name, tmp_path):
    import onnxruntime as ort

    from archc.onnx.export import export_onnx

    graph, ref, x, want, wmap = reference(name)
    state = lowered(graph, ref.state_dict(), wmap).state_dict()
    export_onnx(graph, tmp_path / "m.onnx", weights=state)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = [sess.run(None, {"input": x[i:i + 1].numpy()}) for i in range(2)]
    got = [np.concatenate([g[j] for g in got]) for j in range(len(want))]
    assert _max_diff(got, want) <= TOL * max(1.0, max(float(w.abs().max()) for w in want))


def test_torchvision_backbone_into_deeplabv3plus_with_a_map():
    """The docs' command for the DeepLabV3+ backbones: a MobileNetV2 classifier's state_dict, its
    last conv and classifier ignored, the new head left at archc's init."""
    graph = compile_spec("specs/deeplabv3plus_mobilenetv2.yaml", input="3x64x64").graph
    ref = randomized(MobileNetV2())
    module, report = lowered_report(graph, ref.state_dict(), {"ignore": ["features.18", "classifier"],
                                                              "keep": ["head"]})
    state = module.state_dict()
    backbone = [k for k in ref.state_dict() if not k.startswith(("features.18", "classifier"))
                and not k.endswith("num_batches_tracked")]
    assert report.how == {"map": 0, "order": len(backbone)} and [p[1] for p in report.paired] == backbone
    assert all(torch.equal(state[a], ref.state_dict()[c]) for a, c, _ in report.paired)
    assert report.kept and all(k.startswith("head.") for k in report.kept)
    assert ("features.1.0.depthwise.conv.weight", "features.1.conv.0.0.weight") in [p[:2] for p in report.paired]


@pytest.mark.parametrize("rule,d13", [("{stride: 16, dilate_strided: true}", 2), ("16", 1)])
def test_output_stride_conventions(rule, d13):
    """torchvision's MobileNetV3 (dilated=True) dilates the block that gives up its stride; timm keeps
    it at the previous rate. Both dilate the blocks after it."""
    path = "examples/torchvision/deeplabv3_mobilenetv3_large.yaml"
    text = open(path).read().replace("{stride: 16, dilate_strided: true}", rule)
    graph = compile_spec(path, text=text).graph
    conv = graph["features.13.0.depthwise.conv"]
    assert conv.attrs["s"] == 1 and conv.attrs["d"] == d13 and graph["features.14.0.depthwise.conv"].attrs["d"] == 2
