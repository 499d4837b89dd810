"""The passes, one by one: golden figures, what each rewrites, its refusals, and
the round trip (written-back YAML compiles to the identical graph)."""
from __future__ import annotations

import re

import pytest
from crosscheck import archc_figures, forward_shapes, torchinfo_figures

from archc.ir.build import build
from archc.compile import compile_spec
from archc.lang.emit import emit
from archc.errors import ArchcError, PassError
from archc.passes import parse_pass, run_pipeline
from archc.lang.spec import load

FAST, MNV2 = "specs/fastscnn.yaml", "specs/mobilenetv2.yaml"
PPM_PARAMS = 128 * 32 + 256 * 128 + 2 * 128  # shared 1x1 conv C -> C/4, projection 2C -> C, its BN

SKIPNET = """
name: skipnet
input: [3, 64, 64]
stages:
  - id: enc
    columns: [op, c, s]
    rows:
      - [conv_bn_act, 16, 2]
      - [conv_bn_act, 16, 1]
      - {op: conv_bn_act, c: 16, s: 1, id: skip}
      - [conv_bn_act, 32, 2]
      - [conv_bn_act, 32, 1]
  - id: dec
    rows:
      - {op: resize, to: skip}
      - {op: concat, from: [dec.0, skip]}
      - {op: conv, c: 5, k: 1, bias: true, width: fixed}
"""

REFNET = """
name: refnet
input: [3, 32, 32]
stages:
  - id: a
    rows:
      - {op: conv_bn_act, c: 8}
      - {op: conv_bn_act, c: 8, id: mid}
      - {op: conv_bn_act, c: 8}
      - {op: add, from: [a.0, a.2]}
  - id: x
    rows:
      - {op: conv_bn_act, c: 8}
      - {op: conv_bn_act, c: 8}
  - id: b
    rows:
      - {op: conv, c: 4, k: 1}
      - {op: resize, to: a.2}
outputs: [b, a.2]
"""


def compiled(passes, path=FAST, text=None):
    return compile_spec(path, passes, text=text)


def assert_round_trip(c):
    """The written-back spec compiles to the same graph."""
    again = build(load("<written-back>", text=emit(c.spec)))
    assert again.signature() == c.graph.signature()


def figures(c):
    return c.report.params, c.report.macs, c.report.activation_bytes


# -- golden figures -------------------------------------------------------------
def test_fastscnn_width_0125_is_the_thesis_figure():
    assert figures(compiled(["width=0.125"])) == (25_367, 23_689_328, 26_266_272)


def test_mobilenetv2_width_05_is_torchvision():
    c = compiled(["width=0.5"], MNV2)
    # torchvision mobilenet_v2(width_mult=0.5): 1,968,680 params; torchinfo agrees on every figure
    assert figures(c) == (1_968_680, 97_151_384, 58_249_792) == torchinfo_figures(c.graph)
    assert_round_trip(c)


# -- expand -----------------------------------------------------------------------
def test_expand_sets_t_of_bottlenecks_only():
    c = compiled(["expand=2"])
    ts = [r.fields.get("t") for st in c.spec.stages for r in st.rows]
    assert ts.count(2) == 3 and all(t in (None, 2) for t in ts)
    assert c.graph["gfe.0.0.expand.conv"].shape[0] == 64 * 2
    assert_round_trip(c)


def test_expand_where_and_its_refusal():
    c = compiled(["expand=4,where=gfe.1"])
    assert [r.fields["t"] for r in c.spec.stage("gfe").rows[:3]] == [6, 4, 6]
    with pytest.raises(PassError, match=r"pass 1 'expand=2,where=ltd': no row in ltd has an expansion"):
        compiled(["expand=2,where=ltd"])


# -- repeat ------------------------------------------------------------------------
def test_repeat_caps_n_and_keeps_strides():
    base, c = compiled([], MNV2), compiled(["repeat=1"], MNV2)
    assert [r.n for r in c.spec.stage("features").rows] == [1] * 9
    assert c.graph.total_stride() == base.graph.total_stride() == 32
    assert c.graph.shape("features.8.0.act") == base.graph.shape("features.8.0.act") == (1280, 7, 7)
    assert_round_trip(c)


def test_repeat_leaves_fastscnn_classifier_dsconvs():
    c = compiled(["repeat=2"])
    assert [r.n for r in c.spec.stage("gfe").rows[:3]] == [2, 2, 2]
    assert "classifier.1.0.pointwise.conv" in c.graph


# -- drop --------------------------------------------------------------------------
def test_drop_ppm_really_removes_its_params():
    base, c = compiled([]), compiled(["drop=ppm"])
    assert base.report.params - c.report.params == PPM_PARAMS
    assert not any(n.row == "ppm" for n in c.graph)
    assert c.graph["ffm.0.0.up"].inputs == ("gfe.2.2.residual",)
    assert_round_trip(c)


def test_drop_rewrites_references_and_shifts_indices():
    c = compiled(["drop=mid"], "refnet.yaml", REFNET)
    a = c.spec.stage("a")
    assert a.rows[2].frm == ("a.0", "a.1")  # was [a.0, a.2]: a.2 moved up
    assert c.spec.stage("b").rows[1].fields["to"] == "a.1"
    assert c.spec.outputs == ("b", "a.1")
    assert compiled([], "refnet.yaml", REFNET).report.params - c.report.params == 8 * 8 * 9 + 16
    assert_round_trip(c)


def test_drop_a_stage_and_an_op():
    c = compiled(["drop=x"], "refnet.yaml", REFNET)
    assert [st.id for st in c.spec.stages] == ["a", "b"]
    assert_round_trip(c)
    assert not any(n.op == "dropout" for n in compiled(["drop=dropout"]).graph)


@pytest.mark.parametrize("target, message", [
    ("gfe.2", r"cannot drop gfe.2 \(bottleneck\): its input gfe.1.2.residual is 96x16x16 but its output "
              r"gfe.2.2.residual is 128x16x16"),
    ("ffm", r"cannot drop ffm \(stage\): it reads 2 inputs"),
    ("nothing", r"nothing named 'nothing' to drop \(stages: ltd, gfe, ffm, classifier; row ids: ppm"),
    ("pm", r"did you mean 'ppm'"),
])
def test_drop_refusals(target, message):
    with pytest.raises(PassError, match=message):
        compiled([f"drop={target}"])


# -- input -------------------------------------------------------------------------
def test_input_pass_and_cli_input_agree():
    c = compiled(["input=1x96x96"], MNV2)
    assert c.report.input == (1, 96, 96) and c.graph.shape("features.8.0.act") == (1280, 3, 3)
    assert figures(compile_spec(MNV2, [], "1x96x96")) == figures(c)
    assert_round_trip(c)


POOLNET = """
name: poolnet
input: [3, 64, 64]
stages:
  - id: body
    rows:
      - {op: conv_bn_act, c: 8, s: 2}
      - {op: conv_bn_act, c: 8, s: 2}
      - {op: avgpool, k: 7, s: 1}
"""


def test_input_refusal_names_the_smallest_valid_size():
    with pytest.raises(PassError, match=r"input 3x16x16: body.2.0 \(avgpool\): a 4x4 map is too small for kernel "
                                        r"\[7, 7\].*; the smallest valid size is 3x28x28$"):
        compiled(["input=3x16x16"], "poolnet.yaml", POOLNET)
    with pytest.raises(PassError, match=r"input 3x30x32: 30 is not divisible by the network's total stride 4; "
                                        r"the smallest valid size is 3x28x28 \(the nearest at or above 30x32 is "
                                        r"3x32x32\)"):
        compiled(["input=3x30x32"], "poolnet.yaml", POOLNET)


def test_input_refusal_on_fastscnn():
    with pytest.raises(PassError) as info:
        compiled(["input=3x100x100"])
    size = re.search(r"100 is not divisible by the network's total stride 32; the smallest valid size is "
                     r"3x(\d+)x\1", str(info.value))
    assert size, info.value
    compiled([f"input=3x{size[1]}x{size[1]}"])  # and it is valid
    with pytest.raises(PassError, match=r"the smallest valid size is 3x32x32 \(the nearest at or above 100x100 "
                                        r"is 3x128x128\)"):
        compiled(["drop=ppm", "input=3x100x100"])


def test_input_refuses_ppm_bins_larger_than_the_map_unless_not_strict():
    with pytest.raises(PassError, match=r"gfe.ppm.0.branch.2.pool: pooling bin 4x4 exceeds the 3x3 feature map; "
                                        r"the smallest valid size is 3x256x256"):
        compiled(["input=3x96x96"])
    lenient = compiled(["input=3x96x96,strict=false"])  # torch pools overlapping windows
    assert lenient.graph["gfe.ppm.0.branch.3.pool"].shape == (128, 8, 8)
    assert any("exceeds the 3x3 feature map" in n for n in lenient.notes)
    assert compile_spec(FAST, input="3x96x96").spec.input == (3, 96, 96)  # --input is the lenient form


# -- groups ------------------------------------------------------------------------
def test_groups_shuffle_matches_torch_and_round_trips():
    c = compiled(["groups=4,shuffle=true", "input=3x256x256"])
    convs = [n for n in c.graph if n.op == "conv" and n.attrs["k"] == 1]
    assert c.graph["classifier.3.0"].attrs["groups"] == 1  # the final classifier never is
    grouped = [n for n in convs if n.attrs["groups"] == 4]
    assert len(grouped) == 29 and all(f"{n.name}.shuffle" in c.graph for n in grouped)
    assert c.spec.grouping[0].g == 4 and c.spec.grouping[0].shuffle
    assert archc_figures(c.graph) == torchinfo_figures(c.graph) == (334_321, 70_353_280, 52_491_520)
    expected, seen = forward_shapes(c.graph)
    assert expected == seen
    assert_round_trip(c)


def test_groups_leaves_and_lists_what_it_cannot_divide():
    c = compiled(["groups=3"])
    assert sum(n.op == "conv" and n.attrs["groups"] == 3 for n in c.graph) == 6
    assert any("left alone, 3 does not divide their channels: ltd.1.0.pointwise.conv 32->48" in n for n in c.notes)


def test_groups_where_role_and_refusals():
    c = compiled(["groups=2,where=role:pointwise"])
    assert {n.roles[0] for n in c.graph if n.op == "conv" and n.attrs["groups"] == 2} == {"pointwise"}
    with pytest.raises(PassError, match=r"g=3 divides the channels of no 1x1 conv in ltd \(ltd.1.0.pointwise.conv "
                                        r"32->48, ltd.2.0.pointwise.conv 48->64\); try groups=2"):
        compiled(["groups=3,where=ltd"])
    with pytest.raises(PassError, match=r"'gfee' selects nothing .*did you mean 'gfe'"):
        compiled(["groups=2,where=gfee"])


def test_a_hand_written_grouping_section():
    from archc.errors import SpecError

    text = SKIPNET + "grouping:\n  - {g: 2, where: dec}\n  - {g: 4, shuffle: true}\n"
    c = compiled([], "skipnet.yaml", text)
    assert [n.name for n in c.graph if n.op == "shuffle"] == []  # only dec's head conv is 1x1: never grouped
    with pytest.raises(SpecError, match=r"grouping where 'dex': 'dex' selects nothing"):
        compiled([], "skipnet.yaml", SKIPNET + "grouping:\n  - {g: 2, where: dex}\n")
    with pytest.raises(SpecError, match=r"grouping\[0\]: .*'enc\.' is not a selector"):
        compiled([], "skipnet.yaml", SKIPNET + "grouping:\n  - {g: 2, where: enc.}\n")
    with pytest.raises(SpecError, match=r"grouping\[0\]\.g: 1 is out of range"):
        compiled([], "skipnet.yaml", SKIPNET + "grouping:\n  - {g: 1}\n")


def test_dropping_a_grouped_row_drops_its_selector():
    c = compiled(["groups=2,where=ppm|ffm", "drop=ppm"])
    assert c.spec.grouping[0].where == "ffm"
    assert compiled(["groups=2,where=ppm", "drop=ppm"]).spec.grouping == ()


# -- early_downsample ----------------------------------------------------------------
def test_early_downsample_moves_a_stride_and_reports_macs():
    base, c = compiled([], MNV2), compiled(["early_downsample=1"], MNV2)
    rows = c.spec.stage("features").rows
    assert (rows[1].fields["s"], rows[2].fields["s"]) == (2, 1)
    assert c.graph.total_stride() == 32 and c.report.params == base.report.params
    assert c.report.macs == 278_832_296 < base.report.macs
    assert any("MACs 300,809,384 -> 278,832,296 (-7.3%)" in n for n in c.notes)
    assert_round_trip(c)


def test_early_downsample_refusals():
    with pytest.raises(PassError, match=r"moving the stride of enc.3 to enc.1 would change the strides dec.1 "
                                        r"\(concat\) sees from \[2, 2\] to \[4, 4\]"):
        compiled(["early_downsample=1"], "skipnet.yaml", SKIPNET)
    with pytest.raises(PassError, match="no stride-1 row with a kernel larger than 1x1 precedes a stride-2 row"):
        compiled(["early_downsample=1"])
    with pytest.raises(PassError, match=r"after 4 of 5 step\(s\)"):
        compiled(["early_downsample=5"], MNV2)


# -- the framework -------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ("width=abc", r"pass 'width': a='abc' is not a number"),
    ("width=0", r"multiplier 0 must be > 0"),
    ("repeat=0", r"r=0 must be >= 1"),
    ("frobnicate=1", r"unknown pass 'frobnicate'"),
    ("groups=1", r"g=1 must be >= 2"),
    ("groups=2,where=a.b.c", r"'a.b.c' is not a selector"),
    ("expand=0", r"t=0 must be > 0"),
    ("early_downsample=0", r"k=0 must be >= 1"),
    ("input=3x96", r"must be CxHxW"),
])
def test_bad_pass_strings(text, message):
    with pytest.raises(ArchcError, match=message):
        parse_pass(text)


def test_recipe_files_compile_and_reproduce_the_thesis_stages():
    from archc.passes import load_recipe

    expect = {  # params, MACs, activation bytes (torchinfo; equal to the thesis code, see test_thesis_reference)
        "thesis_a0125": (25_367, 23_689_328, 26_266_272),
        "thesis_a0125_t2": (10_247, 17_400_368, 18_664_096),
        "thesis_a0125_t2_r1": (4_519, 15_503_200, 16_206_496),
        "thesis_a0125_t2_r1_pp0": (3_911, 15_366_656, 16_138_240),
        "thesis_a0125_t2_r1_pp0_96": (3_911, 540_728, 567_360),
    }
    for name, want in expect.items():
        c = compiled(load_recipe(f"passes/{name}.yaml"))
        assert figures(c) == want, name
        assert_round_trip(c)


def test_notes_name_the_pass():
    notes: list = []
    run_pipeline(load(MNV2), ["early_downsample=1"], notes)
    assert notes and all(n.startswith("early_downsample=1: ") for n in notes)
