"""Issue 24's language additions beside SegFormer: norms and token ops on small specs (shapes and
counts against torch and torchinfo, one-line refusals), `p` on the conv blocks, and what naming a
skipped `when:` step gives."""
from __future__ import annotations

import pytest
import yaml
from crosscheck import archc_figures, forward_shapes, torchinfo_figures

from archc.compile import compile_spec
from archc.errors import ArchcError


def spec(tmp_path, rows, blocks=None, input_="16x8x8"):
    doc = {"name": "t", "input": input_, "stages": [{"id": "s", "rows": rows}], **({"blocks": blocks} if blocks else {})}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path / "t.yaml"


def agrees(path) -> None:
    graph = compile_spec(path).graph
    expected, seen = forward_shapes(graph)
    assert expected == seen and archc_figures(graph) == torchinfo_figures(graph)


def test_norms_on_maps_and_sequences_count_as_torchinfo(tmp_path):
    agrees(spec(tmp_path, [{"op": "layernorm"}, {"op": "groupnorm", "groups": 4}, {"op": "instancenorm"},
                           {"op": "instancenorm", "affine": True}, {"id": "t", "op": "tokens"},
                           {"op": "layernorm", "eps": 1e-6}, {"op": "linear", "c": 24}, {"op": "act", "fn": "gelu"},
                           {"op": "mlp", "t": 2}, {"op": "untokens", "size": [8, 8]}]))


def test_attention_with_and_without_spatial_reduction(tmp_path):
    rows = [{"id": "m", "op": "conv", "c": 16, "k": 1}, {"id": "t", "op": "tokens"},
            {"id": "a1", "op": "attention", "from": ["t", "m"], "heads": 4},
            {"id": "a2", "op": "attention", "from": ["a1", "m"], "head_dim": 8, "sr": 2},
            {"op": "mix_ffn", "from": ["a2", "m"]}, {"op": "untokens", "to": "m"}]
    path = spec(tmp_path, rows)
    agrees(path)
    g = compile_spec(path).graph
    assert g.shape("s.a2.0.q_heads") == (2, 64, 8) and g.shape("s.a2.0.kt") == (2, 8, 16)


@pytest.mark.parametrize("rows,message", [
    ([{"op": "heads", "heads": 2}], "heads needs an LxC token sequence, got [16, 8, 8]; add {op: tokens} first"),
    ([{"op": "tokens"}, {"op": "heads", "heads": 3}], "heads=3 does not divide the sequence's 16 channels"),
    ([{"op": "tokens"}, {"op": "untokens", "size": [4, 4]}], "untokens to 4x4 needs 16 tokens, got 64"),
    ([{"op": "tokens"}, {"op": "untokens"}], "untokens needs `to: NODE`"),
    ([{"op": "groupnorm", "groups": 3}], "groupnorm groups=3 does not divide the input's 16 channels"),
    ([{"op": "tokens", "patch": 3}], "tokens patch 3x3 does not tile the 8x8 map"),
    ([{"op": "tokens"}, {"op": "heads", "heads": 2, "groups": 3}], "heads groups=3 does not divide the sequence's 64"),
    ([{"op": "tokens"}, {"op": "heads", "heads": 2}, {"op": "merge_heads", "groups": 4}],
     "merge_heads groups=4 does not divide the tensor's 2 heads"),
    ([{"id": "a", "op": "tokens"}, {"op": "matmul", "from": ["a", "a"]}], "matmul cannot multiply 64x16 by 64x16"),
])
def test_one_line_refusals(tmp_path, rows, message):
    with pytest.raises(ArchcError) as err:
        compile_spec(spec(tmp_path, rows))
    assert message in err.value.message and "\n" not in err.value.message


def test_padding_on_the_conv_blocks(tmp_path):
    rows = [{"op": "conv_bn_act", "c": 8, "k": 3, "p": 0}, {"op": "conv_bn", "c": 8, "k": 3, "p": [0, 1]},
            {"op": "conv_act", "c": 8, "k": 3, "p": 2}]
    g = compile_spec(spec(tmp_path, rows)).graph
    assert [n.shape for n in g if n.op == "conv"] == [(8, 6, 6), (8, 4, 6), (8, 6, 8)]


BLOCK = {"params": {"x": {"type": "int", "default": 0}},
         "body": [{"id": "a", "op": "conv", "c": 8, "k": 1},
                  {"id": "b", "op": "conv", "c": 4, "k": 1},
                  {"id": "skip", "op": "act", "from": "a", "when": "$x > 0"},
                  {"id": "c", "op": "concat", "from": ["skip", "b"]}]}


def test_a_skipped_step_named_later_gives_what_it_would_have_read(tmp_path):
    g = compile_spec(spec(tmp_path, [{"op": "blk"}], {"blk": BLOCK})).graph
    assert g["s.0.0.c"].inputs == ("s.0.0.a", "s.0.0.b")  # not b, the step before it
    assert g.shape("s.0.0.c") == (12, 8, 8)


def test_patch_tokens_are_runs_by_position_in_the_patch_and_untokens_puts_them_back(tmp_path):
    """tokens patch 2 equals the plain-torch unfold of MobileViT (tests/refnets/mobilevit.py: run p holds
    the pixel at position p of every 2x2 patch), and untokens with the same patch inverts it."""
    import torch

    from archc.torch.lower import lower
    from refnets.mobilevit import unfold

    path = spec(tmp_path, [{"id": "t", "op": "tokens", "patch": 2}, {"op": "untokens", "to": "input", "patch": 2}],
                input_="3x4x6")
    doc = {**yaml.safe_load(path.read_text()), "outputs": ["t", "s.1"]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    x = torch.randn(1, 3, 4, 6)
    tokens, back = lower(compile_spec(path).graph)(x)
    assert torch.equal(tokens, unfold(x).reshape(1, 4 * 6, 3)) and torch.equal(back, x)


def test_attention_in_runs_equals_plain_torch_per_run(tmp_path):
    """attention with groups g on g runs of N tokens (fused qkv, 2 heads) equals plain torch applying
    the same weights to each run as a batch item."""
    import torch
    import torch.nn.functional as F

    from archc.torch.lower import lower

    path = spec(tmp_path, [{"id": "t", "op": "tokens", "patch": 2},
                           {"id": "a", "op": "attention", "from": ["t", "t"], "heads": 2, "groups": 4, "fused": True}])
    module = lower(compile_spec(path).graph)
    w = module.state_dict()
    x = torch.randn(1, 16, 8, 8)
    runs = x.reshape(1, 16, 4, 2, 4, 2).permute(0, 3, 5, 2, 4, 1).reshape(4, 16, 16)  # 4 runs of 16 tokens
    q, k, v = F.linear(runs, w["s.a.0.qkv.weight"], w["s.a.0.qkv.bias"]).reshape(4, 16, 3, 2, 8).permute(2, 0, 3, 1, 4)
    mixed = ((q @ k.transpose(-2, -1)) * 8 ** -0.5).softmax(-1) @ v
    want = F.linear(mixed.transpose(1, 2).reshape(4, 16, 16), w["s.a.0.proj.weight"], w["s.a.0.proj.bias"])
    with torch.no_grad():
        got = module(x)
    assert torch.allclose(got.reshape(4, 16, 16), want, atol=1e-6)


@pytest.mark.parametrize("sr", [1, 2])
def test_cross_attention_takes_keys_and_values_from_the_other_map(tmp_path, sr):
    """attention with cross: queries from the tokens of one map, keys and values from another map (of
    other channels and size; spatially reduced when sr > 1), as plain torch computes it."""
    import torch
    import torch.nn.functional as F

    from archc.torch.lower import lower

    rows = [{"id": "m", "op": "conv", "c": 8, "k": 1}, {"id": "t", "op": "tokens", "from": "input"},
            {"id": "a", "op": "attention", "from": ["t", "m"], "heads": 2, "cross": True, "sr": sr}]
    path = spec(tmp_path, rows, input_="16x8x4")
    agrees(path)
    module = lower(compile_spec(path).graph)
    w = {k.removeprefix("s.a.0."): v for k, v in module.state_dict().items()}
    x = torch.randn(1, 16, 8, 4)
    other = F.conv2d(x, w["s.m.0.weight"])
    if sr > 1:
        other = F.layer_norm(F.conv2d(other, w["sr.weight"], w["sr.bias"], stride=sr).flatten(2).transpose(1, 2),
                             (16,), w["norm.weight"], w["norm.bias"])
    else:
        other = other.flatten(2).transpose(1, 2)
    heads = lambda t: t.reshape(1, -1, 2, 8).transpose(1, 2)  # noqa: E731
    q = heads(F.linear(x.flatten(2).transpose(1, 2), w["q.weight"], w["q.bias"]))
    k, v = F.linear(other, w["kv.weight"], w["kv.bias"]).chunk(2, -1)
    mixed = ((q @ heads(k).transpose(-2, -1)) * 8 ** -0.5).softmax(-1) @ heads(v)
    want = F.linear(mixed.transpose(1, 2).reshape(1, 32, 16), w["proj.weight"], w["proj.bias"])
    with torch.no_grad():
        assert torch.allclose(module(x), want, atol=1e-6)
