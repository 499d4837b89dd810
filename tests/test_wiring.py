"""Checks against values worked out independently of archc's code (papers, hand
arithmetic, torch itself), for the bugs that counting alone cannot see."""
from __future__ import annotations

import ast
import operator

import pytest
import torch
import yaml
from crosscheck import forward_shapes, torchinfo_figures

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.reports.explain import explain


def tiny(tmp_path, rows: list, chw=(16, 8, 8)) -> str:
    """A one-stage spec of the given rows (mappings), written to a file."""
    spec = {"name": "tiny", "input": list(chw), "stages": [{"id": "s", "rows": rows}]}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(tmp_path / "tiny.yaml")


def test_ppm_default_bins_are_pspnets(tmp_path):
    """PSPNet (Zhao et al., CVPR 2017, section 3.3) pools to 1x1, 2x2, 3x3 and 6x6."""
    graph = compile_spec(tiny(tmp_path, [{"op": "ppm"}], (16, 12, 12))).graph
    assert [n.attrs["size"] for n in graph if n.op == "adaptive_avgpool"] == [1, 2, 3, 6]


def test_non_square_adaptive_pool_bins_match_torch(tmp_path):
    graph = compile_spec(tiny(tmp_path, [{"op": "adaptive_avgpool", "size": [2, 3]}])).graph
    expected, seen = forward_shapes(graph)
    assert graph.shape(graph.outputs[0]) == (16, 2, 3) and expected == seen


def test_grouped_deconv_macs_equal_torchinfo_and_the_hand_count(tmp_path):
    """ConvTranspose2d 16->8, k3, s2, groups 4 on 8x8 -> 16x16: 16*8/4*3*3 weights + 8 bias."""
    graph = compile_spec(tiny(tmp_path, [{"op": "deconv", "c": 8, "k": 3, "s": 2, "groups": 4}])).graph
    weights = 16 * 8 // 4 * 3 * 3 + 8
    assert torchinfo_figures(graph)[:2] == (weights, weights * 16 * 16)
    assert compile_spec(graph_spec := tiny(tmp_path, [{"op": "deconv", "c": 8, "groups": 4}])).report.macs == \
        torchinfo_figures(compile_spec(graph_spec).graph)[1]


OPS = {ast.Mult: operator.mul, ast.Div: operator.truediv, ast.Add: operator.add}


def _arith(text: str) -> float:
    """Evaluate the explain formula's left side ('3·3·16·32·8·8 + 32·8·8') as arithmetic."""
    def ev(n):
        return n.value if isinstance(n, ast.Constant) else OPS[type(n.op)](ev(n.left), ev(n.right))
    return ev(ast.parse(text.replace("·", "*").replace(",", ""), mode="eval").body)


def test_explain_formulas_are_arithmetic_that_gives_torchinfos_macs():
    """Each formula, evaluated, gives the layer's MACs (the figures torchinfo matches, tests/test_specs.py)."""
    c = compile_spec("specs/mobilenetv2.yaml", ["width=0.5"], "3x96x96")
    layers, checked = {l.name: l.macs for l in c.report.layers}, 0
    for row in explain(c):
        for p in row.primitives:
            if p.formula != "no parameters: 0" and "·" in p.formula:
                lhs, _, rhs = p.formula.rpartition(" = ")
                assert _arith(lhs) == p.macs == int(rhs.replace(",", "")) == layers[p.name], p.formula
                checked += 1
    assert checked > 40


def test_explain_writes_a_dense_convs_factors():
    """MobileNetV2's stem: 3x3, 3 -> 32 channels at 112x112: 3*3*3*32*112*112 = 10,838,016."""
    stem = explain(compile_spec("specs/mobilenetv2.yaml"))[0].primitives[0]
    assert stem.formula == "3·3·3·32·112·112 = 10,838,016"


def test_verification_reports_the_largest_difference_not_the_mean():
    """One output element off by 1 in 64: the max is 1, a mean would be 1/64."""
    import onnx
    from onnx import TensorProto, helper

    from archc.onnx.verify import max_abs_diff

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8, 8])
    model = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "id", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    bump = torch.zeros(1, 1, 8, 8)
    bump[0, 0, 3, 5] = 1.0

    class OffByOne(torch.nn.Module):
        def forward(self, t):
            return t + bump

    worst, _ = max_abs_diff(model, OffByOne(), (1, 8, 8))
    assert worst == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("size, k, s, p", [(6, 2, 3, 0), (9, 2, 3, 0), (8, 1, 2, 0), (6, 3, 2, 1), (9, 3, 3, 1)])
def test_ceil_mode_pooling_shapes_match_torch(tmp_path, size, k, s, p):
    """torch drops a last window that would start in the right padding; the IR must too."""
    rows = [{"op": "maxpool", "k": k, "s": s, "p": p, "ceil": True}]
    graph = compile_spec(tiny(tmp_path, rows, (4, size, size))).graph
    expected, seen = forward_shapes(graph)
    assert expected == seen


def test_strict_input_refuses_bins_wider_than_the_map():
    """3x512x224: the PPM sees 16x7, so its 8 bins fit the height but not the width."""
    with pytest.raises(ArchcError, match="pooling bin 8x8 exceeds the 16x7 feature map"):
        compile_spec("specs/fastscnn.yaml", ["input=3x512x224"])
