"""DDRNet-23-slim (specs/ddrnet23_slim.yaml) against the plain-torch refnet written from the paper and
the authors' code (tests/refnets/ddrnet.py, the authors' module names and registration order): counts
equal torchinfo's, the authors'-layout state_dict loads through `--weights` with a six-line `order:`
map and gives the refnet's outputs, and width / input build and verify in ONNX."""
from __future__ import annotations

import pytest
import torch
from crosscheck import archc_figures, counts_agree, refnet_agrees, torchinfo_figures
from libcheck import onnx_difference

from archc.compile import compile_spec
from archc.ir.analysis import analyze
from archc.torch.weightmap import WeightsError
from archc.torch.weights import lowered_report, randomize_bn
from refnets.ddrnet import DDRNet23Slim

SPEC = "specs/ddrnet23_slim.yaml"
# the authors' DualResNet registers the fusions and the high-resolution branch after layer4; each runs
# earlier, so each subtree pairs by order on its own (the rest, DAPPM included, pairs by the default order)
WMAP = {"order": {"high3": "layer3_", "down3": "down3", "compress3": "compression3",
                  "high4": "layer4_", "down4": "down4", "compress4": "compression4"}}


def test_counts_equal_the_authors_model_in_torchinfo():
    """torchinfo 1.8 on the authors' DualResNet_imagenet() (github ydhongHIT/DDRNet, SyncBatchNorm swapped
    for BatchNorm2d) and on the refnet, at 1x3x1024x2048, outside CI (benchmarks/ddrnet_authors.md):
    5,695,987 params, 36,302,933,376 MACs (the paper: 5.7 M, 36.3 G), 1,524,184,064 output bytes."""
    r = compile_spec(SPEC).report
    assert (r.params, r.macs, r.activation_bytes) == (5_695_987, 36_302_933_376, 1_524_184_064)
    assert r.outputs == ((19, 128, 256),)  # 1/8 of the input, as the authors' model returns it


QUARTER = ["width=0.25", "input=3x512x512"]  # 512 is the smallest input (total stride 512); every width / 4


def test_small_input_matches_torch_and_torchinfo_on_the_refnet():
    graph = compile_spec(SPEC, QUARTER).graph
    counts_agree(graph, DDRNet23Slim(planes=8, spp=32, head=16))


def test_the_authors_layout_loads_with_the_order_map_and_gives_the_refnet_outputs():
    graph = compile_spec(SPEC, QUARTER).graph
    torch.manual_seed(0)
    ref = DDRNet23Slim(planes=8, spp=32, head=16)
    randomize_bn(ref)
    ref.eval()
    with pytest.raises(WeightsError, match="does not match checkpoint 'layer4.0.conv1.weight'"):
        lowered_report(graph, ref.state_dict())  # by order alone, stage 4 meets the high branch
    refnet_agrees(graph, ref, (1, 3, 512, 512), WMAP)


@pytest.mark.slow
def test_width_and_input_build_count_and_verify_in_onnx(tmp_path):
    graph = compile_spec(SPEC, QUARTER).graph  # a quarter of the width, a sixteenth of the pixels
    assert graph.shape("layer4.1.0.conv1.conv") == (64, 16, 16) and analyze(graph).outputs == ((19, 64, 64),)
    assert archc_figures(graph) == torchinfo_figures(graph)
    assert onnx_difference(graph, tmp_path) <= 1e-4
