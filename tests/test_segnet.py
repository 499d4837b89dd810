"""SegNet (specs/segnet.yaml) against the plain-torch refnet written from the paper and the authors'
Caffe model (tests/refnets/segnet.py): counts equal torchinfo's on the refnet, the refnet's
state_dict through `--weights` gives its outputs, and width / input build and verify in ONNX."""
from __future__ import annotations

import pytest
import torch
from crosscheck import archc_figures, counts_agree, refnet_agrees, torchinfo_figures
from libcheck import onnx_difference

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.ir.analysis import analyze
from refnets.segnet import SegNet

SPEC = "specs/segnet.yaml"


def test_counts_equal_torchinfo_on_the_refnet():
    """torchinfo 1.8 on SegNet() at 1x3x352x480 gave 29,449,355 params, 104,210,995,712 MACs and
    1,225,973,760 output bytes (tests/refnets/segnet.py; run once, 2026-12-07)."""
    c = compile_spec(SPEC)
    assert (c.report.params, c.report.macs, c.report.activation_bytes) == (29_449_355, 104_210_995_712, 1_225_973_760)
    assert c.report.outputs == ((11, 352, 480),) and c.report.macs_attention == 0


QUARTER = ["width=0.25", "input=3x32x64"]  # every width / 4, so the checks take seconds


def test_small_input_matches_torch_and_torchinfo_on_the_refnet():
    graph = compile_spec(SPEC, QUARTER).graph
    counts_agree(graph, SegNet(w=0.25))


def test_refnet_state_dict_gives_the_refnet_outputs():
    """The Caffe layer names (conv1_1 ... conv1_1_D) pair by order; unpooling uses each pool's indices."""
    graph = compile_spec(SPEC, QUARTER).graph
    torch.manual_seed(0)
    refnet_agrees(graph, SegNet(w=0.25), (2, 3, 32, 64))


def test_the_papers_360x480_is_refused_in_one_line():
    """CamVid's 360 rows are not a multiple of the total stride 32 (the Caffe model pads by rounding its
    pooled sizes up); archc's rule refuses it in one line that names the nearest valid size."""
    with pytest.raises(ArchcError, match="360 is not divisible by the network.s total stride 32"):
        compile_spec(SPEC, input="3x360x480")


@pytest.mark.slow
def test_width_and_input_build_count_and_verify_in_onnx(tmp_path):
    graph = compile_spec(SPEC, ["width=0.25", "input=3x64x96"]).graph
    assert graph.shape("enc1.0.0.conv") == (16, 64, 96) and analyze(graph).outputs == ((11, 64, 96),)
    assert archc_figures(graph) == torchinfo_figures(graph)
    assert onnx_difference(graph, tmp_path) <= 1e-4
