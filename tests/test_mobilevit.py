"""MobileViT-XXS and -S (specs/mobilevit_*.yaml) against the plain-torch refnet written from the paper
and timm 1.0.31's structure (tests/refnets/mobilevit.py, checked once against timm itself:
benchmarks/mobilevit_timm.md): counts, the refnet's state_dict gives its outputs, the patch grid
constrains the input, and width / repeat compile, count as torchinfo and carry weights."""
from __future__ import annotations

import pytest
import torch
import torchinfo
from crosscheck import archc_figures, forward_shapes, refnet_agrees, torchinfo_figures

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.ir.analysis import analyze
from archc.torch.weights import lowered_report
from refnets.mobilevit import CONFIGS, MobileViT

SIZES = ("xxs", "s")
# archc at 3x256x256 (params, MACs, activation bytes), computed with archc; torchinfo 1.8 on
# timm.create_model(...) at 1x3x256x256 gave the second figure as its MACs (tvenv, 2026-12-07)
PINNED = {"xxs": ((1_272_024, 195_991_416, 82_501_440), 197_487_592),
          "s": ((5_578_632, 1_095_921_816, 251_035_456), 1_104_653_096)}


def spec(size: str) -> str:
    return f"specs/mobilevit_{size}.yaml"


def token_params(report) -> int:
    """Parameters of the layers on token sequences (the transformers' linears and layernorms)."""
    return sum(layer.params for layer in report.layers if layer.op in ("linear", "layernorm") and len(layer.out) == 2)


@pytest.mark.parametrize("size", SIZES)
def test_counts_at_256_and_how_they_differ_from_torchinfo_on_timm(size):
    r = analyze(compile_spec(spec(size)).graph)
    figures, timm_macs = PINNED[size]
    assert (r.params, r.macs, r.activation_bytes) == figures
    assert r.outputs == ((1000,),)
    # q·kᵀ and attn·v in each transformer layer: 4 runs x N² x d per head, heads x d = C, N = (256/s/2)²
    dims, depths = CONFIGS[size][3], CONFIGS[size][4]
    runs = [(256 // s // 2) ** 2 for s in (8, 16, 32)]
    assert r.macs_attention == sum(2 * 4 * n * n * c * depth for n, c, depth in zip(runs, dims, depths))
    # torchinfo does not see timm's BN (BatchNormAct2d) and counts the token layers once per patch position
    bn = sum(layer.params for layer in r.layers if layer.op == "bn")
    assert r.macs - bn + 3 * token_params(r) == timm_macs


@pytest.mark.parametrize("size", SIZES)
def test_small_input_matches_torch_and_torchinfo_and_the_refnet(size):
    graph = compile_spec(spec(size), input="3x64x64").graph
    expected, seen = forward_shapes(graph)
    assert expected == seen
    assert archc_figures(graph) == torchinfo_figures(graph)
    ref = torchinfo.summary(MobileViT(size), input_size=(1, 3, 64, 64), verbose=0, device="cpu")
    r = analyze(graph)
    assert (ref.total_params, ref.total_output_bytes) == (r.params, r.activation_bytes)
    assert ref.total_mult_adds == r.macs + 3 * token_params(r)  # the refnet folds the 4 runs into the batch


@pytest.mark.parametrize("size", SIZES)
def test_refnet_state_dict_gives_the_refnet_outputs(size):
    graph = compile_spec(spec(size), input="3x64x128").graph
    torch.manual_seed(0)
    refnet_agrees(graph, MobileViT(size), (2, 3, 64, 128))


@pytest.mark.parametrize("size", ["3x250x250", "3x224x224"])
def test_an_input_the_patch_grid_does_not_tile_is_refused_in_one_line(size):
    """224 works for timm (it resizes the 7x7 map to 8x8 for the patches); archc refuses it."""
    with pytest.raises(ArchcError) as err:
        compile_spec(spec("xxs"), [f"input={size}"])
    message = err.value.message
    assert "not divisible by the network's total stride 64" in message and "3x256x256" in message
    assert "\n" not in message


def test_any_multiple_of_64_works():
    assert analyze(compile_spec(spec("xxs"), ["input=3x320x192"]).graph).outputs == ((1000,),)


def test_width_keeps_the_heads_and_repeat_keeps_one_transformer_layer():
    base = compile_spec(spec("xxs"), ["input=3x64x64"]).graph
    half = compile_spec(spec("xxs"), ["width=0.5", "input=3x64x64"]).graph
    heads = lambda g: [(n.attrs["heads"], g.shape(n.name)) for n in g if n.name.endswith("0.attn.q_heads")]  # noqa: E731
    assert [h for h, _ in heads(half)] == [h for h, _ in heads(base)] == [4, 4, 4]
    assert [s[-1] for _, s in heads(half)] == [8, 10, 12]  # d halves: 64, 80, 96 over 4 heads
    one = compile_spec(spec("xxs"), ["repeat=1", "input=3x64x64"]).graph
    assert sum(n.name.endswith("attn.proj") for n in one) == 3
    for graph in (half, one):
        assert archc_figures(graph) == torchinfo_figures(graph)


def test_weights_carry_through_width_by_whole_heads_in_every_run():
    """q and k keep the same positions (their product), every head of every run the same ones, and
    qkv's rows follow its three slices."""
    from archc.torch.carry import carry
    from archc.torch.weights import lowered

    graph = compile_spec(spec("xxs"), input="3x64x64").graph
    module, _ = lowered_report(graph, MobileViT("xxs").state_dict(), None)
    half = compile_spec(spec("xxs"), ["width=0.5", "input=3x64x64"]).graph
    c = carry(graph, module.state_dict(), half)
    assert 0.2 < c.kept_norm < 1
    for stage, dim in zip((2, 3, 4), CONFIGS["xxs"][3]):
        a, d = f"stage{stage}.2.0.attn.", dim // 4
        q, k, v, qkv = (c.kept[a + n] for n in ("q_part", "k_part", "v_part", "qkv"))
        assert q == k and len(q) == dim // 2 and qkv == q + [dim + j for j in k] + [2 * dim + j for j in v]
        for kept in (q, v):
            per_head = [[j % d for j in kept if j // d == h] for h in range(4)]
            assert all(p == per_head[0] and len(p) == d // 2 for p in per_head)
    with torch.no_grad():
        assert torch.isfinite(lowered(half, c.state)(torch.randn(1, 3, 64, 64))).all()
