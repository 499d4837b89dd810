"""The new primitives refuse bad input with one line naming the node and the fix, and their
torch lowering matches the shapes and torchinfo counts of the analysis."""
from __future__ import annotations

import pytest
from torchcheck import assert_matches_torch, torchinfo_totals

from archc.compile import compile_spec
from archc.errors import ArchcError

HEAD = "name: t\ninput: [3, 32, 32]\nstages:\n  - id: s\n    rows:\n"
BAD = {
    "split sizes that do not add up": ("      - {op: split, sizes: [2, 2]}\n",
                                       "s.0.0 (split): split sizes [2, 2] add up to 4, not the input's 3 channels"),
    "split chunks": ("      - {op: split, chunks: 2}\n", "split chunks=2 does not divide the input's 3 channels"),
    "unpool without its indices": ("      - {op: maxpool, k: 2, id: p}\n      - {op: max_unpool, from: [p, p]}\n",
                                   "max_unpool needs the indices of a maxpool: its second input 's.p.0' is a "
                                   "maxpool without indices: true"),
    "unpool of a conv": ("      - {op: conv, c: 3, id: p}\n      - {op: max_unpool, from: [p, p]}\n",
                         "its second input 's.p.0' is a conv;"),
    "prelu with a wrong channel count": ("      - {op: prelu, num: 4}\n",
                                         "prelu num=4 must be 1 (one slope) or the input's 3 channels"),
    "pad to fewer channels": ("      - {op: pad, c: 2}\n", "pad c=2 is fewer than the input's 3 channels"),
    "slice out of range": ("      - {op: slice, start: 2, end: 5}\n", "slice 2:5 is not a channel range"),
    "concat of one node twice": ("      - {op: concat, from: [input, input]}\n", "concat reads 'input' twice"),
    "an unknown activation": ("      - {op: act, fn: hswsh}\n", "did you mean 'hswish'?"),
    "a gate of another size": (("      - {op: channel_sum, id: g}\n      - {op: avgpool, k: 2, id: h}\n"
                                "      - {op: mul, from: [input, h]}\n"),
                               "mul needs inputs of one shape, or a second input of 3x1x1 (channel gate) or 1x32x32 (spatial gate), got 3x32x32 and 1x16x16"),
    "channel_sum of a vector": ("      - {op: flatten}\n      - {op: channel_sum}\n",
                                "channel_sum needs a CxHxW feature map, got [3072]"),
    "append to a vector": ("      - {op: flatten}\n      - {op: append, n: 1, value: 1.0}\n",
                           "s.1.0 (append): append needs a sequence or a heads tensor, got [3072]"),
    "div by another shape": (("      - {op: avgpool, k: 2, id: h}\n      - {op: div, from: [input, h]}\n"),
                             "div needs inputs of one shape, or a divisor whose last dim is 1, got 3x32x32 and 3x16x16"),
    "slice of the last dim out of range": (("      - {op: tokens}\n      - {op: heads, heads: 3}\n"
                                            "      - {op: slice, start: 0, end: 2, last: true}\n"),
                                           "slice 0:2 is not a range of the last dim's 1 entries"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line(case):
    rows, expected = BAD[case]
    with pytest.raises(ArchcError) as err:
        compile_spec("t.yaml", text=HEAD + rows)
    line = str(err.value)
    assert "\n" not in line and expected in line, line


GOOD = ("      - {op: conv, c: 16, k: 3}\n"
        "      - {id: halves, op: split, sizes: [6, 10]}\n"
        "      - {op: prelu, from: s.halves.0.1}\n"
        "      - {op: concat, from: [s.halves.0.0, s.2]}\n"
        "      - {op: maxpool, k: 2, indices: true, id: pool}\n"
        "      - {op: pad, c: 24}\n"
        "      - {op: slice, start: 4, end: 20}\n"
        "      - {op: prelu, num: 1}\n"
        "      - {op: max_unpool, from: [s.7, pool]}\n"
        "      - {op: act, fn: hswish}\n")


def test_new_ops_lower_with_the_analysis_counts():
    graph = compile_spec("t.yaml", text=HEAD + GOOD).graph
    assert [n.op for n in graph][2:4] == ["slice", "slice"]  # the split is visible, one node per part
    assert graph[graph.outputs[0]].attrs["fn"] == "hardswish"  # the alias, spelled as the op knows it
    assert_matches_torch(graph)
    from archc.ir.analysis import analyze

    r = analyze(graph)
    assert torchinfo_totals(graph) == (r.params, r.macs, r.activation_bytes)
    assert r.params == 16 * 3 * 9 + 10 + 1  # the conv, a per-channel and a single-slope prelu


@pytest.mark.slow
def test_new_ops_export_and_verify(tmp_path):
    from archc.onnx.export import export_onnx
    from archc.onnx.verify import simplify_and_verify

    graph = compile_spec("t.yaml", text=HEAD + GOOD).graph
    checked = simplify_and_verify(export_onnx(graph, tmp_path / "m.onnx"), graph.input_shape)
    assert checked.max_abs_diff < 1e-4 and checked.output_scale > 0.1


MBCONV = """name: t
input: [16, 8, 8]
blocks:
  mbconv:
    params: {se_from: {type: str, default: input}}
    body:
      - {id: expand, op: conv_bn_act, c: 64, k: 1, act: swish, momentum: 0.01}
      - {id: se, op: se, reduction: 4, divisor: 1, squeeze_from: $se_from, act: swish, gate: sigmoid}
stages:
  - id: s
    rows:
      - {op: mbconv, se_from: FROM}
"""


@pytest.mark.parametrize("where,squeeze", [("input", 16), ("block_input", 4)])
def test_se_squeezes_from_its_input_or_the_blocks(where, squeeze):
    graph = compile_spec("t.yaml", text=MBCONV.replace("FROM", where)).graph
    assert graph["s.0.0.se.fc1"].shape[0] == squeeze  # EfficientNet: 16 // 4, not 64 // 4
    assert graph["s.0.0.expand.bn"].attrs["momentum"] == 0.01
    assert graph["s.0.0.expand.act"].attrs["fn"] == "silu"


def test_archc_ops_name_shows_one_op_in_full():
    from typer.testing import CliRunner

    from archc.cli import app

    out = CliRunner().invoke(app, ["ops", "act"])
    assert out.exit_code == 0 and "hswish" in out.output and "'relu'" in out.output and "example:" in out.output
    bad = CliRunner().invoke(app, ["ops", "prelo"])
    assert bad.exit_code == 2 and "did you mean 'prelu'" in bad.output


GATES = ("      - {op: conv, c: 8, k: 3, id: x}\n"
         "      - {op: conv, c: 8, k: 1, from: input, id: y}\n"
         "      - {op: mul, from: [x, y], id: xy}\n"
         "      - {op: channel_sum, id: sim}\n"
         "      - {op: act, fn: sigmoid, id: g}\n"
         "      - {op: mul, from: [x, g], complement: true, id: keep}\n"
         "      - {op: mul, from: [y, g], id: take}\n"
         "      - {op: add, from: [keep, take]}\n")


def test_a_spatial_gate_mixes_two_maps_as_written_by_hand():
    """PIDNet's Pag mix, (1 - s) x + s y with s = sigmoid(sum_c x*y), against plain torch."""
    import torch

    from archc.torch.weights import lower_seeded

    graph = compile_spec("t.yaml", text=HEAD + GATES).graph
    assert graph["s.sim.0"].shape == (1, 32, 32) and graph[graph.outputs[0]].shape == (8, 32, 32)
    assert_matches_torch(graph)
    model = lower_seeded(graph, 0)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        a, b = model.get_submodule("s.x.0")(x), model.get_submodule("s.y.0")(x)
        s = torch.sigmoid((a * b).sum(1, keepdim=True))
        assert float((model(x) - ((1 - s) * a + s * b)).abs().max()) < 1e-6
