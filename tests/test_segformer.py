"""SegFormer-B0 (specs/segformer_b0.yaml) against the plain-torch refnet written from the paper and
smp 0.6's structure (tests/refnets/segformer.py): counts equal to torchinfo's on the refnet, the
refnet's state_dict gives its outputs, and the passes the issue names compile and count right."""
from __future__ import annotations

import pytest
import torch
from crosscheck import archc_figures, counts_agree, refnet_agrees, torchinfo_figures

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.ir.analysis import analyze
from archc.torch.weights import lowered_report
from refnets.segformer import DIMS, SR, SegFormerB0

SPEC = "specs/segformer_b0.yaml"
# the sr conv and its layernorm run before kv and proj but smp (and the refnet) registers them after
WMAP = {f"stage{i}.blocks{i}.{b}.attn.{part}": f"encoder.block{i}.{b}.attn.{part}"
        for i, sr in enumerate(SR, 1) if sr > 1 for b in (0, 1) for part in ("sr", "norm")}


def test_counts_at_512_equal_torchinfo_on_the_refnet():
    """torchinfo 1.8 on SegFormerB0() at 1x3x512x512 gave 3,752,694 params, 5,472,290,304 MACs and
    373,293,056 output bytes (tests/refnets/segformer.py; run once, 2026-12-07)."""
    r = analyze(compile_spec(SPEC).graph)
    assert (r.params, r.macs, r.activation_bytes) == (3_752_694, 5_472_290_304, 373_293_056)
    assert r.outputs == ((150, 512, 512),)
    # q·kᵀ and attn·v: 2 blocks x 2 products x C·Lq·Lk per stage (heads x d = C)
    lq = [(512 // s) ** 2 for s in (4, 8, 16, 32)]
    want = sum(2 * 2 * c * q * (q // sr ** 2) for c, q, sr in zip(DIMS, lq, SR))
    assert r.macs_attention == want == 1_040_187_392
    assert r.macs_total == r.macs + want
    assert r.to_json()["macs_total"] == r.macs_total


def test_small_input_matches_torch_and_torchinfo_and_the_refnet():
    graph = compile_spec(SPEC, input="3x64x64").graph
    counts_agree(graph, SegFormerB0())


def test_refnet_state_dict_gives_the_refnet_outputs():
    graph = compile_spec(SPEC, input="3x64x96").graph
    torch.manual_seed(0)
    refnet_agrees(graph, SegFormerB0(), (2, 3, 64, 96), WMAP)


@pytest.mark.parametrize("line", ["width=0.5", "repeat=1", "quantize=int8"])
def test_passes_count_as_torchinfo(line):
    graph = compile_spec(SPEC, [line, "input=3x64x64"]).graph
    assert archc_figures(graph) == torchinfo_figures(graph)


def test_width_keeps_heads_and_repeat_halves_the_blocks():
    base = compile_spec(SPEC, ["input=3x64x64"]).graph
    half = compile_spec(SPEC, ["width=0.5", "input=3x64x64"]).graph
    heads = lambda g: [n.attrs["heads"] for n in g if n.op == "heads" and n.name.endswith("q_heads")]  # noqa: E731
    assert heads(half) == heads(base) == [1, 1, 2, 2, 5, 5, 8, 8]
    assert half.shape("stage4.norm4.0") == (128, 2, 2)
    one = compile_spec(SPEC, ["repeat=1", "input=3x64x64"]).graph
    assert sum(n.name.endswith("attn.proj") for n in one) == 4


def test_any_input_divisible_by_32_and_a_refusal_otherwise():
    assert analyze(compile_spec(SPEC, ["input=3x256x256"]).graph).outputs == ((150, 256, 256),)
    assert analyze(compile_spec(SPEC, input="3x96x160").graph).outputs == ((150, 96, 160),)
    with pytest.raises(ArchcError, match="not divisible by the network's total stride 32"):
        compile_spec(SPEC, ["input=3x250x250"])


@pytest.mark.slow
def test_width_half_repeat_one_exports_verifies_and_profiles_attention_by_spec_path():
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "archc", "profile", SPEC, "--pass", "width=0.5", "--pass", "repeat=1",
                          "--input", "3x64x64", "--per-layer", "--runs", "2", "--warmup", "1", "--json"],
                         capture_output=True, text=True, timeout=280)
    assert out.returncode == 0, out.stderr
    assert "verified against PyTorch" in out.stderr  # ONNX Runtime vs torch within the build's tolerance
    names = {layer["name"] for layer in json.loads(out.stdout)["layers"]}
    assert {"stage1.blocks1.0.attn.scores", "stage4.blocks4.0.attn.proj", "stage2.blocks2.0.mlp.dwconv"} <= names


def test_a_weights_map_order_entry_pairs_one_subtree_by_order():
    """A checkpoint that stores stage 4's blocks first (out of run order): one `order:` entry pairs that
    subtree module by module, the rest goes by order as before; without it the pairing fails."""
    from archc.torch.weightmap import WeightsError

    graph = compile_spec(SPEC, input="3x64x64").graph
    torch.manual_seed(0)
    ref = SegFormerB0().eval()
    state = ref.state_dict()
    moved = {k: v for k, v in state.items() if k.startswith("encoder.block4.")}
    shuffled = {**moved, **{k: v for k, v in state.items() if k not in moved}}
    with pytest.raises(WeightsError, match="does not match"):
        lowered_report(graph, shuffled, WMAP)
    module, report = lowered_report(graph, shuffled, {"map": WMAP, "order": {"stage4.blocks4": "encoder.block4"}})
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(module(x), ref(x))
    assert report.how["map"] == 2 * len(WMAP) + len(moved) - sum(k.endswith("num_batches_tracked") for k in moved)


def test_weights_carry_through_repeat_and_through_width_by_whole_heads():
    """repeat keeps the first blocks' tensors; width keeps every head (the spec writes heads:) and in
    each the same positions of q, k (their product) and of v, chosen by L1 norm, and kv's rows follow
    its two slices. A layernorm's statistics change with C, so no exact invariant as the CNNs'."""
    from archc.torch.carry import carry
    from archc.torch.lower import lower
    from archc.torch.weights import lowered

    graph = compile_spec(SPEC, input="3x64x64").graph
    module, _ = lowered_report(graph, SegFormerB0().state_dict(), WMAP)
    state = module.state_dict()
    one = compile_spec(SPEC, ["repeat=1", "input=3x64x64"]).graph
    carried = carry(graph, state, one).state
    assert set(carried) == set(lower(one).state_dict()) and all(torch.equal(carried[k], state[k]) for k in carried)
    half = compile_spec(SPEC, ["width=0.5", "input=3x64x64"]).graph
    c = carry(graph, state, half)
    assert 0.2 < c.kept_norm < 1
    for i, (dim, heads) in enumerate(zip(DIMS, (1, 2, 5, 8)), 1):
        a = f"stage{i}.blocks{i}.1.attn."
        q, k, v, kv = (c.kept[a + n] for n in ("q", "k", "v", "kv"))
        d = dim // heads
        assert q == k and len(q) == dim // 2 and kv == k + [dim + j for j in v]
        for kept in (q, v):  # every head keeps d/2 channels, at the same positions
            per_head = [[j % d for j in kept if j // d == h] for h in range(heads)]
            assert all(p == per_head[0] and len(p) == d // 2 for p in per_head)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.isfinite(lowered(half, c.state)(x)).all()


@pytest.mark.slow
def test_int8_quantization_of_the_exported_model(tmp_path):
    from archc.onnx.export import export_onnx
    from archc.onnx.quantize import quantize
    from archc.passes.quantize import QuantizePass

    c = compile_spec(SPEC, ["width=0.5", "repeat=1", "input=3x64x64"])
    export_onnx(c.graph, tmp_path / "model.onnx")
    q = quantize(tmp_path / "model.onnx", QuantizePass("int8"), c.graph.input_shape)
    assert q.path.is_file() and q.report["size_ratio"] > 2  # int8 weights (QDQ) beside float32
    assert q.report["fidelity"]["sqnr_db"] > 15  # 26.2 dB measured on synthetic inputs


def test_diff_with_deeplab_shows_both_mac_conventions():
    import json

    from typer.testing import CliRunner

    from archc.cli import app

    args = ["diff", SPEC, "specs/deeplabv3plus_mobilenetv2.yaml", "--input", "3x128x128"]
    table = CliRunner().invoke(app, args)
    assert table.exit_code == 0 and "MACs (torchinfo)" in table.output and "MACs attention" in table.output
    d = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)
    assert d["a"]["input"] == d["b"]["input"] == [3, 128, 128]
    assert d["a"]["macs_total"] == d["a"]["macs"] + d["a"]["macs_attention"] > d["a"]["macs"]
    assert d["b"]["macs_attention"] == 0
