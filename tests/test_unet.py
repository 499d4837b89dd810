"""The paper's U-Net (specs/unet.yaml) against the plain-torch refnet written from the paper
(tests/refnets/unet.py): counts equal torchinfo's on the refnet, the refnet's state_dict through
`--weights` gives its outputs, the crops land where the paper's do, and the sizes an unpadded network
cannot take are refused in one line that names the nearest valid one."""
from __future__ import annotations

import pytest
import torch
from crosscheck import counts_agree, refnet_agrees
from libcheck import onnx_difference

from archc.compile import compile_spec
from archc.errors import ArchcError
from refnets.unet import UNet

SPEC = "specs/unet.yaml"


def test_the_papers_figure_at_572():
    """archc's analysis at the paper's 1x572x572 (torchinfo 1.8 on UNet() gave the same three figures;
    run once, 2026-12-07); the output is the paper's 2x388x388 and each crop takes the map's centre."""
    c = compile_spec(SPEC)
    assert (c.report.params, c.report.macs, c.report.activation_bytes) == (31_030_658, 167_456_910_112,
                                                                           1_074_827_520)
    assert c.report.outputs == ((2, 388, 388),)
    assert [c.graph.shape(f"up.up{i}.0.crop") for i in (4, 3, 2, 1)] == [
        (512, 56, 56), (256, 104, 104), (128, 200, 200), (64, 392, 392)]  # Fig. 1's copy and crop


QUARTER = ["width=0.25", "input=1x188x188"]  # every width / 4 at the smallest valid size (output 4x4)


def test_small_input_matches_torch_and_torchinfo_on_the_refnet():
    graph = compile_spec(SPEC, QUARTER).graph
    counts_agree(graph, UNet(w=0.25))


def test_refnet_state_dict_gives_the_refnet_outputs():
    graph = compile_spec(SPEC, QUARTER).graph
    torch.manual_seed(0)
    refnet_agrees(graph, UNet(w=0.25), (2, 1, 188, 188))


@pytest.mark.parametrize("size, why, nearest", [
    ("1x200x200", "'down4.pool4.0' .maxpool /2. sees a 43x43 map that 2 does not divide", "1x204x204"),
    ("1x172x172", "a 2x2 map is too small", "1x188x188"),
    ("1x100x100", "'bottom.pool5.0' .maxpool /2. sees a 5x5 map", "1x188x188")])
def test_sizes_whose_poolings_see_odd_maps_are_refused_in_one_line(size, why, nearest):
    """Each unpadded convolution trims 2 pixels: valid sizes are 188 + 16k (572 among them), not multiples
    of the total stride 16, so archc checks each pooling and searches pixel by pixel for the nearest size."""
    with pytest.raises(ArchcError, match=why) as caught:
        compile_spec(SPEC, [f"input={size}"])
    assert str(caught.value).endswith(f"the nearest valid size at or above is {nearest}")
    assert "\n" not in str(caught.value)
    assert compile_spec(SPEC, [f"input={nearest}"]).report.outputs


def test_onnx_verifies_at_the_small_size(tmp_path):
    graph = compile_spec(SPEC, QUARTER).graph
    assert onnx_difference(graph, tmp_path) <= 1e-4
