"""EfficientViT-B0 (specs/efficientvit_b0.yaml, timm 1.0.31's efficientvit_b0) against the plain-torch
refnet written from the paper and timm's structure (tests/refnets/efficientvit.py, timm's module names):
counts equal torchinfo's, the refnet's state_dict through `--weights` gives its outputs, the linear
attention's products are counted apart, and width / input build and verify in ONNX. timm itself:
benchmarks/efficient_timm.py (outside CI)."""
from __future__ import annotations

import pytest
import torch
from crosscheck import archc_figures, counts_agree, refnet_agrees, torchinfo_figures
from libcheck import onnx_difference

from archc.compile import compile_spec
from archc.ir.analysis import analyze
from archc.torch.carry import carry
from archc.torch.weightmap import WeightsError
from archc.torch.weights import lower_seeded
from refnets.efficientvit import EfficientViTB0

SPEC = "specs/efficientvit_b0.yaml"


def test_counts_equal_timm_in_torchinfo():
    """torchinfo 1.8 on timm 1.0.31's efficientvit_b0 and on the refnet at 1x3x224x224 (benchmarks/
    efficient_timm.md): 3,410,008 params, 98,172,376 MACs, 37,861,184 output bytes."""
    r = analyze(compile_spec(SPEC).graph)
    assert (r.params, r.macs, r.activation_bytes) == (3_410_008, 98_172_376, 37_861_184)
    # per block: 2·heads groups of d = 16 over L tokens, kᵀ·[v, 1] and q·(kᵀ·[v, 1]): 2·L·d·(d+1) each
    # (stage 3 at 14x14 with 2·64/16 groups, stage 4 at 7x7 with 2·128/16), two blocks each
    want = 2 * sum(2 * g * n * 16 * 17 for n, g in [(14 * 14, 8), (7 * 7, 16)])
    assert r.macs_attention == want == 2_558_976 and r.macs_total == r.macs + want
    assert r.outputs == ((1000,),)


def test_small_input_matches_torch_and_torchinfo_on_the_refnet():
    graph = compile_spec(SPEC, input="3x64x96").graph
    counts_agree(graph, EfficientViTB0())


def test_refnet_state_dict_gives_the_refnet_outputs():
    graph = compile_spec(SPEC, input="3x64x96").graph
    torch.manual_seed(0)
    refnet_agrees(graph, EfficientViTB0(), (2, 3, 64, 96))


def test_width_keeps_the_head_size_and_carrying_weights_through_it_is_refused():
    base = compile_spec(SPEC, input="3x64x64").graph
    half = compile_spec(SPEC, ["width=0.5", "input=3x64x64"]).graph
    groups = lambda g: [n.shape for n in g if n.name.endswith("context.groups")]  # noqa: E731
    assert groups(base)[-1] == (16, 4, 48) and groups(half)[-1] == (8, 4, 48)  # 2·heads x L x 3·16
    assert archc_figures(half) == torchinfo_figures(half)
    with pytest.raises(WeightsError, match="slice"):
        carry(base, lower_seeded(base).state_dict(), half)


@pytest.mark.slow
def test_width_and_input_build_count_and_verify_in_onnx(tmp_path):
    graph = compile_spec(SPEC, ["width=0.5", "input=3x64x96"]).graph
    assert analyze(graph).outputs == ((1000,),)
    assert archc_figures(graph) == torchinfo_figures(graph)
    assert onnx_difference(graph, tmp_path) <= 1e-4
