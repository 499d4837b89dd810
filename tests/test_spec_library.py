"""The spec library against independent references: pinned torchinfo counts of the reference
implementations (computed once with torchvision 0.29 / torchinfo 1.8, outside CI) and equal outputs
with weights copied into plain-torch models written from the papers (tests/refnets/)."""
from __future__ import annotations

import pytest
import torch
from libcheck import max_difference
from refnets.enet import ENet
from refnets.lraspp import LRASPP
from refnets.mobilenetv4 import mobilenetv4_conv_medium, mobilenetv4_conv_small
from refnets.pidnet import PIDNetS
from refnets.shufflenetv2 import ShuffleNetV2
from torchcheck import torchinfo_totals

from archc.compile import compile_spec

# torchvision.models.shufflenet_v2_x*: (params, MACs, activation bytes) at 3x224x224, 1000 classes
SHUFFLENET = {0.5: (1_366_792, 40_485_400, 16_390_464), 1.0: (2_278_604, 144_925_172, 31_211_200),
              1.5: (3_503_624, 295_783_832, 44_288_320), 2.0: (7_393_996, 583_288_180, 59_911_872)}


@pytest.mark.parametrize("x", sorted(SHUFFLENET))
def test_shufflenetv2_counts_equal_torchvision(x):
    r = compile_spec("specs/shufflenetv2.yaml", variables={"x": x}).report
    assert (r.params, r.macs, r.activation_bytes) == SHUFFLENET[x]


def test_shufflenetv2_torchinfo_agrees_with_the_analysis():
    graph = compile_spec("specs/shufflenetv2.yaml").graph
    assert torchinfo_totals(graph) == SHUFFLENET[1.0]


@pytest.mark.parametrize("x", [0.5, 2.0])
def test_shufflenetv2_output_equals_the_reference(x):
    torch.manual_seed(0)
    assert max_difference("specs/shufflenetv2.yaml", ShuffleNetV2(x), "3x64x64", {"x": x}) < 1e-5


def test_enet_counts_equal_the_reference_in_torchinfo():
    """364,311 params (the paper: 0.37 M): the plain-torch ENet's torchinfo figures at 3x512x512."""
    r = compile_spec("specs/enet.yaml").report
    assert (r.params, r.macs, r.activation_bytes) == (364_311, 2_246_192_976, 705_167_360)


def test_enet_output_equals_the_reference():
    assert max_difference("specs/enet.yaml", ENet(), "3x64x64") < 1e-5


# (spec, input): (params, MACs, activation bytes) of the reference implementation in torchinfo 1.8, computed
# once outside CI: the authors' PIDNet-S (github XuJiacong/PIDNet, get_pred_model('pidnet-s', 19)) and
# torchvision 0.29's lraspp_mobilenet_v3_large(num_classes=21)
REFERENCE_COUNTS = {("pidnet_s", "3x512x1024"): (7_625_715, 11_804_016_320, 526_070_016),
                    ("pidnet_s", "3x1024x2048"): (7_625_715, 47_215_845_056, 2_104_265_472),
                    ("lraspp_mobilenetv3_large", "3x224x224"): (3_221_538, 379_343_976, 85_102_528),
                    ("lraspp_mobilenetv3_large", "3x512x512"): (3_221_538, 1_974_866_856, 444_441_280)}


@pytest.mark.parametrize("name,size", sorted(REFERENCE_COUNTS))
def test_counts_equal_the_reference_implementation(name, size):
    r = compile_spec(f"specs/{name}.yaml", input=size).report
    assert (r.params, r.macs, r.activation_bytes) == REFERENCE_COUNTS[name, size]


def test_pidnet_s_output_equals_the_reference():
    """At a quarter of the width (every count is a multiple of 4), so the check takes a fraction of a
    second; 512x512 is the smallest input (the total stride is 512)."""
    torch.manual_seed(0)
    ref = PIDNetS(w=8, ppm=24, head=32)
    assert max_difference("specs/pidnet_s.yaml", ref, "3x512x512", passes=["width=0.25"]) < 1e-5


# timm 1.0.31 + torchinfo 1.8, 1000 classes (benchmarks/mobilenetv4_timm.py): (input, params, MACs). timm's
# BatchNormAct2d is not a leaf module, so torchinfo leaves its BNs out of the MACs; archc (and the refnet,
# BN and ReLU separate) count each BN's 2*C on top. The refnet loads timm's state_dict and matches it exactly.
MOBILENETV4_TIMM = {"mobilenetv4_conv_small": (224, 3_774_024, 186_006_568),
                    "mobilenetv4_conv_medium": (256, 9_715_512, 1_080_245_224)}
MOBILENETV4 = {"mobilenetv4_conv_small": (3_774_024, 186_031_656, 31_438_656),  # archc = refnet in torchinfo
               "mobilenetv4_conv_medium": (9_715_512, 1_080_313_128, 121_270_080)}


@pytest.mark.parametrize("name", sorted(MOBILENETV4))
def test_mobilenetv4_counts_equal_timm_but_for_the_bn_macs_torchinfo_skips_there(name):
    c = compile_spec(f"specs/{name}.yaml")
    size, params, macs = MOBILENETV4_TIMM[name]
    bn_macs = sum(layer.macs for layer in c.report.layers if layer.op == "bn")
    assert c.graph.input_shape == (3, size, size)  # timm's default cfg
    assert (c.report.params, c.report.macs - bn_macs) == (params, macs)
    assert (c.report.params, c.report.macs, c.report.activation_bytes) == MOBILENETV4[name]


def test_mobilenetv4_torchinfo_agrees_with_the_analysis():
    assert torchinfo_totals(compile_spec("specs/mobilenetv4_conv_small.yaml").graph) == MOBILENETV4[
        "mobilenetv4_conv_small"]


@pytest.mark.parametrize("name,make", [("mobilenetv4_conv_small", mobilenetv4_conv_small),
                                       ("mobilenetv4_conv_medium", mobilenetv4_conv_medium)])
def test_mobilenetv4_output_equals_the_reference(name, make):
    assert max_difference(f"specs/{name}.yaml", make(), "3x64x64") < 1e-5


def test_uib_variants_are_the_blocks_the_paper_names():
    """start/mid kernels 0 leave that depthwise conv out: IR, ConvNeXt-like, ExtraDW, FFN."""
    graph = compile_spec("specs/mobilenetv4_conv_medium.yaml").graph
    kinds = {}
    for n in graph:
        if n.block == "uib" and n.op == "conv":
            kinds.setdefault(n.name.rsplit(".", 2)[0], []).append(n.name.split(".")[-2])
    assert kinds["stage2.0.0"] == ["dw_start", "expand", "depthwise", "project"]  # ExtraDW
    assert kinds["stage2.4.0"] == ["dw_start", "expand", "project"]  # ConvNeXt-like
    assert kinds["stage2.5.0"] == ["expand", "project"]  # FFN


def test_lraspp_output_equals_the_reference():
    """The refnet (itself equal to torchvision's model with its state_dict, outside CI); outputs are ~9 in
    magnitude with archc's seeded weights, so the bound is relative."""
    assert max_difference("specs/lraspp_mobilenetv3_large.yaml", LRASPP(), "3x64x64", relative=True) < 1e-5
