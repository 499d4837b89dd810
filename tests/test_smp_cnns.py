"""FPN and U-Net on ResNet-18 and PSPNet on a dilated ResNet-50 (specs/fpn_resnet18.yaml,
unet_resnet18.yaml, pspnet_resnet50.yaml) against the plain-torch refnets written from the papers and
smp 0.6's structure (tests/refnets/smp_cnns.py): counts equal to torchinfo's on the refnet, the refnet's
state_dict gives its outputs, and the width and input passes count as torchinfo does. smp itself is
checked outside CI (benchmarks/smp_cnns.py, .md)."""
from __future__ import annotations

import pytest
import torch
from crosscheck import archc_figures, counts_agree, torchinfo_figures

from archc.compile import compile_spec
from archc.ir.analysis import analyze
from archc.torch.weights import lowered_report, randomize_bn
from refnets.smp_cnns import FPNResNet18, PSPResNet50, UnetResNet18

REFNETS = {"fpn_resnet18": FPNResNet18, "unet_resnet18": UnetResNet18, "pspnet_resnet50": PSPResNet50}
# torchinfo 1.8 on smp 0.6's models at 1x3x512x512 (benchmarks/smp_cnns.md: smp = refnet = archc)
AT_512 = {"fpn_resnet18": (13_066_454, 18_077_101_184, 335_282_176),
          "unet_resnet18": (14_349_814, 27_256_171_840, 782_237_696),
          "pspnet_resnet50": (30_495_446, 111_143_436_672, 2_144_415_744)}


def spec(name: str) -> str:
    return f"specs/{name}.yaml"


@pytest.mark.parametrize("name", AT_512)
def test_counts_at_512_equal_smp_torchinfo(name):
    r = analyze(compile_spec(spec(name)).graph)
    assert (r.params, r.macs, r.activation_bytes) == AT_512[name]
    assert r.outputs == ((150, 512, 512),) and r.macs_attention == 0


@pytest.mark.parametrize("name", REFNETS)
def test_small_input_matches_torch_and_torchinfo_and_the_refnet(name):
    graph = compile_spec(spec(name), input="3x64x64").graph
    counts_agree(graph, REFNETS[name]())


@pytest.mark.parametrize("name", REFNETS)
def test_refnet_state_dict_gives_the_refnet_outputs(name):
    """smp's names, no map: `--weights` pairs the refnet's tensors by execution order and shape."""
    graph = compile_spec(spec(name), input="3x64x96").graph
    torch.manual_seed(0)
    ref = REFNETS[name]()
    randomize_bn(ref)
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, torch.nn.GroupNorm):
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
    ref.eval()
    module, report = lowered_report(graph, ref.state_dict())
    assert len(report.paired) == sum(1 for k in ref.state_dict() if not k.endswith("num_batches_tracked"))
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got, want = module(x), ref(x)
    assert float((got - want).abs().max()) <= 1e-5 * float(want.abs().max())


@pytest.mark.parametrize("name", REFNETS)
def test_width_and_input_passes_count_as_torchinfo(name):
    graph = compile_spec(spec(name), ["width=0.5", "input=3x64x96"]).graph
    assert archc_figures(graph) == torchinfo_figures(graph)
    assert analyze(graph).outputs == ((150, 64, 96),)
    assert analyze(compile_spec(spec(name), ["input=3x256x384"]).graph).outputs == ((150, 256, 384),)


def test_the_dilated_encoder_keeps_stride_8_and_the_pyramid_bins():
    graph = compile_spec(spec("pspnet_resnet50"), input="3x64x64").graph
    assert graph.shape("layer4.0.2.relu") == (2048, 8, 8)
    assert [graph.nodes[f"layer{i}.0.{j}.conv2.conv"].attrs["d"] for i, j in ((3, 0), (3, 5), (4, 0))] == [2, 2, 4]
    assert [graph.shape(f"psp.bin{b}_pool.0") for b in (1, 2, 3, 6)] == [(2048, b, b) for b in (1, 2, 3, 6)]
    assert graph.shape("psp.cat.0") == (4096, 8, 8)


def test_weights_carry_through_width_with_groupnorm():
    """FPN's GroupNorm keeps its 32 groups at width 0.5, each of half the channels: the carried weights
    are the kept channels' (by L1 norm), but a group's statistics change with its channels, so there is
    no exact invariant as for the BN-only specs (tests/test_weights_carry.py checks unet and pspnet)."""
    from archc.torch.carry import carry
    from archc.torch.lower import lower
    from archc.torch.weights import lowered

    graph = compile_spec(spec("fpn_resnet18"), input="3x64x64").graph
    state = lower(graph).state_dict()
    half = compile_spec(spec("fpn_resnet18"), ["width=0.5", "input=3x64x64"]).graph
    c = carry(graph, state, half)
    assert set(c.state) == set(lower(half).state_dict()) and 0.2 < c.kept_norm < 1
    gn = "segmentation.s2.0.gn"
    assert c.state[f"{gn}.weight"].shape == (64,) and half.nodes[gn].attrs["groups"] == 32
    per_group = [[j % 4 for j in c.kept[gn] if j // 4 == g] for g in range(32)]  # 128 channels, 4 a group
    assert all(p == per_group[0] and len(p) == 2 for p in per_group)  # the same 2 positions in every group
    with torch.no_grad():
        assert torch.isfinite(lowered(half, c.state)(torch.randn(1, 3, 64, 64))).all()


@pytest.mark.slow  # about 7 s of CPU each, export and ONNX Runtime
@pytest.mark.parametrize("name", REFNETS)
def test_width_and_input_export_to_onnx_and_verify(name, tmp_path):
    """`--pass width=0.5 --pass input=...` exports and runs in ONNX Runtime as in torch; PSPNet's bins 3
    and 6 do not divide its 6x7 map, so they stay adaptive pools in the exported graph too."""
    import numpy as np
    import onnxruntime as ort

    from archc.onnx.export import export_onnx

    h, w = (48, 56) if name == "pspnet_resnet50" else (64, 96)  # total strides 8 and 32
    graph = compile_spec(spec(name), ["width=0.5", f"input=3x{h}x{w}"]).graph
    exported = export_onnx(graph, tmp_path / "model.onnx")
    x = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = exported.module(x).numpy()
    got = ort.InferenceSession(str(exported.path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})
    assert got[0].shape == want.shape == (1, 150, h, w)
    assert np.abs(got[0] - want).max() <= 1e-4 * max(1.0, float(np.abs(want).max()))
