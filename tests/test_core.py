"""The compiler core: published numbers, torch/torchinfo agreement for every spec,
write-back round trip, and the module paths that name layers."""
import json

import pytest
from typer.testing import CliRunner

import archc
from archc.cli import app
from archc.compile import compile_spec
from archc.lang.emit import emit
from archc.torch.lower import lower
from archc.lang.spec import load

from conftest import SPECS
from torchcheck import assert_matches_torch

runner = CliRunner()


def summary_json(*args):
    result = runner.invoke(app, ["summary", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_fastscnn_matches_the_thesis_to_the_unit():
    s = summary_json("specs/fastscnn.yaml", "--input", "3x512x512")
    assert (s["params"], s["macs"], s["activation_bytes"]) == (1_122_673, 830_667_136, 209_900_800)
    assert s["input"] == [3, 512, 512] and s["outputs"] == [[1, 512, 512]]


def test_mobilenetv2_matches_torchvision():
    s = summary_json("specs/mobilenetv2.yaml")
    assert (s["params"], s["macs"]) == (3_504_872, 300_809_384)
    assert s["outputs"] == [[1000]]


def test_summary_json_follows_the_contract():
    s = summary_json("specs/fastscnn.yaml")
    assert set(s) >= {"name", "input", "outputs", "params", "macs", "activation_bytes", "layers"}
    layer = s["layers"][0]
    assert set(layer) >= {"name", "op", "stage", "in", "out", "params", "macs"}
    assert sum(l["params"] for l in s["layers"]) == s["params"]
    assert sum(l["macs"] for l in s["layers"]) == s["macs"]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_spec_agrees_with_torch_and_torchinfo(path):
    assert_matches_torch(archc.build(load(path)))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_written_back_spec_builds_the_identical_graph(path):
    spec = load(path)
    again = load("written.yaml", text=emit(spec, "round trip"))
    assert archc.build(again).signature() == archc.build(spec).signature()


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_layers_are_named_by_their_module_paths(path):
    graph = archc.build(load(path))
    module_names = dict(lower(graph).named_modules())
    for node in graph:
        if node.op in ("conv", "bn", "linear", "deconv"):
            assert node.owner in module_names, node.name
        stage_ids = {st.id for st in load(path).stages} | {"input"}
        assert node.name.split(".")[0] in stage_ids


def test_repeats_carry_the_stride_only_on_the_first_block():
    graph = archc.build(load("specs/fastscnn.yaml"))
    strides = [graph[f"gfe.0.{r}.depthwise.conv"].attrs["s"] for r in range(3)]
    assert strides == [2, 1, 1]
    assert "gfe.0.0.residual" not in graph and "gfe.0.1.residual" in graph


def test_shared_ppm_conv_counts_params_once_and_macs_per_use():
    c = compile_spec("specs/fastscnn.yaml")
    convs = [l for l in c.report.layers if l.name.startswith("gfe.ppm.0.branch.") and l.name.endswith("conv.conv")]
    assert len(convs) == 4
    assert [l.params for l in convs] == [128 * 32, 0, 0, 0]
    assert [l.share for l in convs[1:]] == ["gfe.ppm.0.branch.0.conv.conv"] * 3
    assert all(l.macs == 128 * 32 * b * b for l, b in zip(convs, (1, 2, 4, 8)))
    gm = lower(c.graph)
    assert gm.get_submodule("gfe.ppm.0.branch.0.conv.conv").weight.shape == (32, 128, 1, 1)


def test_variables_are_settable():
    s = summary_json("specs/fastscnn.yaml", "--var", "classes=19")
    assert s["outputs"] == [[19, 512, 512]]
    assert s["params"] == 1_122_673 + 18 * 129


def test_input_option_changes_shapes():
    s = summary_json("specs/mobilenetv2.yaml", "--input", "3x160x160")
    assert s["input"] == [3, 160, 160]
    assert s["params"] == 3_504_872


def test_adaptive_pooling_lowers_to_fixed_windows_when_bins_divide():
    import torch

    gm = lower(archc.build(load("specs/fastscnn.yaml")))
    assert isinstance(gm.get_submodule("gfe.ppm.0.branch.3.pool"), torch.nn.AvgPool2d)
    spec = compile_spec("specs/fastscnn.yaml", input="3x320x320").graph  # 10x10 map, bin 4 does not divide
    assert isinstance(lower(spec).get_submodule("gfe.ppm.0.branch.2.pool"), torch.nn.AdaptiveAvgPool2d)
