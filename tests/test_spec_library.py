"""The spec library against independent references: pinned torchinfo counts of the reference
implementations (computed once with torchvision 0.29 / torchinfo 1.8, outside CI) and equal outputs
with weights copied into plain-torch models written from the papers (tests/refnets/)."""
from __future__ import annotations

import pytest
import torch
from libcheck import max_difference
from refnets.enet import ENet
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


# the authors' PIDNet-S (github XuJiacong/PIDNet, get_pred_model('pidnet-s', 19)) in torchinfo 1.8
PIDNET = {"3x512x1024": (7_625_715, 11_804_016_320, 526_070_016),
          "3x1024x2048": (7_625_715, 47_215_845_056, 2_104_265_472)}


@pytest.mark.parametrize("size", sorted(PIDNET))
def test_pidnet_s_counts_equal_the_authors_model(size):
    r = compile_spec("specs/pidnet_s.yaml", input=size).report
    assert (r.params, r.macs, r.activation_bytes) == PIDNET[size]


def test_pidnet_s_output_equals_the_reference():
    """At a quarter of the width (every count is a multiple of 4), so the check takes a fraction of a
    second; 512x512 is the smallest input (the total stride is 512)."""
    torch.manual_seed(0)
    ref = PIDNetS(w=8, ppm=24, head=32)
    assert max_difference("specs/pidnet_s.yaml", ref, "3x512x512", passes=["width=0.25"]) < 1e-5
