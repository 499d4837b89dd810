"""Spec composition (`import:` stages), output stride, taps, and their errors."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archc.compile import compile_spec
from archc.lang.emit import emit
from archc.errors import ArchcError, GraphError, SpecError

ROOT = Path(__file__).resolve().parent.parent
BACKBONE = ROOT / "specs" / "mobilenetv2.yaml"


def host(stage: str, extra: str = "") -> str:
    """A spec with one import stage (given as YAML lines) followed by a pooling head."""
    return (f"name: host\ninput: [3, 224, 224]\nvars: {{classes: 10, os: 32}}\n"
            f"width: {{multiplier: 1.0, round: nearest, divisor: 8}}\nstages:\n{stage}"
            f"  - id: head\n    rows:\n      - {{op: pool_conv, c: $classes, width: fixed}}\n{extra}")


@pytest.fixture
def specs(tmp_path):
    shutil.copy(BACKBONE, tmp_path / "mobilenetv2.yaml")

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path
    return write


IMPORT = "  - id: backbone\n    import: mobilenetv2.yaml\n    stages: [features]\n"


def test_import_splices_the_backbone_under_its_own_names(specs):
    c = compile_spec(specs("host.yaml", host(IMPORT + "    upto: features.7\n    taps: {low: features.2}\n")))
    whole = compile_spec(BACKBONE)
    assert "features.3.0.expand.conv" in c.graph
    features = whole.report.stages()["features"]["params"]
    last_conv = sum(layer.params for layer in whole.report.layers if layer.name.startswith("features.8."))
    head = c.report.stages()["head"]["params"]
    assert c.report.params == features - last_conv + head
    assert c.graph["head.0.0.pool"].inputs == ("features.7.0.project.bn",)


def test_import_names_taps_and_the_import_itself(specs):
    text = host(IMPORT + "    taps: {low: features.2}\n").replace(
        "      - {op: pool_conv", "      - {op: concat, from: [low_up, backbone]}\n      - {op: pool_conv")
    text = text.replace("  - id: head\n", "  - id: up\n    from: low\n    rows:\n"
                        "      - {op: avgpool, k: 8, id: low_up}\n  - id: head\n")
    c = compile_spec(specs("host.yaml", text))
    assert c.graph["head.0.0"].inputs == ("up.low_up.0", "features.8.0.act")


def test_import_vars_are_evaluated_with_the_host_vars(specs):
    stage = "  - id: net\n    import: mobilenetv2.yaml\n    vars: {classes: $classes * 2}\n"
    text = host(stage).split("  - id: head")[0]  # the whole classifier: nothing may follow its vector
    c = compile_spec(specs("host.yaml", text))
    assert c.graph.shape("classifier.0.0.fc") == (20,)


def test_nested_imports_resolve_relative_to_each_file(specs):
    specs("nets/mid.yaml", host(IMPORT.replace("mobilenetv2.yaml", "../mobilenetv2.yaml")).replace("host", "mid"))
    top = host("  - id: mid\n    import: nets/mid.yaml\n    stages: [features]\n")
    assert "features.0.0.conv" in compile_spec(specs("top.yaml", top)).graph


@pytest.mark.parametrize("stage,message", [
    ("  - id: b\n    import: /etc/passwd\n", "not an absolute one"),
    ("  - id: b\n    import: ../outside.yaml\n", "the top spec's folder. and the bundled library"),
    ("  - id: b\n    import: missing.yaml\n", "no such spec file"),
    ("  - id: b\n    import: host.yaml\n", "import cycle host.yaml -> host.yaml"),
    (IMPORT.replace("[features]", "[featurs]"), "has no stage 'featurs'"),
    (IMPORT + "    upto: features.42\n", "has no row '42'"),
    (IMPORT + "    vars: {clases: 3}\n", "no variable 'clases'"),
    (IMPORT + "    rows: [[conv, 8]]\n", "remove `rows:`"),
    (IMPORT + "    taps: {features: features.2}\n", "tap 'features' is already a name"),
    (IMPORT + "    taps: {low: features.99}\n", "names nothing defined"),
    ("  - id: b\n    upto: x\n    rows: [{op: conv, c: 8}]\n", "needs `import:`"),
    ("  - id: b\n    doc: neither\n", "needs `rows:`"),
])
def test_import_errors_name_the_place_and_the_fix(specs, stage, message):
    path = specs("host.yaml", host(stage))
    with pytest.raises(ArchcError, match=message) as info:
        compile_spec(path)
    assert info.value.mark is not None and info.value.mark.line > 1


def test_an_indirect_cycle_is_refused(specs):
    specs("a.yaml", host("  - id: b\n    import: b.yaml\n").replace("host", "a"))
    b = specs("b.yaml", host("  - id: a\n    import: a.yaml\n").replace("host", "b"))
    with pytest.raises(SpecError, match=r"import cycle b.yaml -> a.yaml -> b.yaml"):
        compile_spec(b)


@pytest.mark.parametrize("os_,strided,first_dilated", [(32, [], None), (16, ["features.6.0"], "features.6.1"),
                                                       (8, ["features.4.0", "features.6.0"], "features.4.1")])
def test_output_stride_turns_strides_into_dilations_as_timm(os_, strided, first_dilated):
    c = compile_spec(ROOT / "specs" / "deeplabv3plus_mobilenetv2.yaml", variables={"output_stride": os_})
    g = c.graph
    assert g.total_stride() == os_
    for row in strided:  # the block that loses its stride keeps the dilation it had
        dw = g[f"{row}.depthwise.conv"]
        assert dw.attrs["s"] == 1 and dw.attrs["d"] < 2 * (32 // os_)
    if first_dilated:
        assert g[f"{first_dilated}.depthwise.conv"].attrs["d"] == 2
    rates = [g[f"head.0.0.atrous.{i}.conv.conv"].attrs["d"] for i in range(3)]
    assert rates == ([12, 24, 36] if os_ == 8 else [6, 12, 18])
    assert c.report.params == 5_225_717  # dilation changes no weights


def test_output_stride_needs_a_dilatable_op(specs):
    stage = ("  - id: body\n    output_stride: 2\n    rows:\n      - {op: conv, c: 8, k: 3, s: 2}\n"
             "      - {op: maxpool, k: 2}\n")
    with pytest.raises(SpecError, match="maxpool has no dilation `d`"):
        compile_spec(specs("host.yaml", host(stage)))


def test_output_stride_must_be_a_power_of_two():
    with pytest.raises(SpecError, match="power of two such as 8, 16 or 32, got 12"):
        compile_spec(ROOT / "specs" / "deeplabv3plus_mobilenetv2.yaml", variables={"output_stride": 12})


def test_composed_spec_round_trips_through_yaml(tmp_path):
    c = compile_spec(ROOT / "specs" / "deeplabv3plus_mobilenetv3_small.yaml", ["width=0.5"],
                     variables={"output_stride": 16})
    text = emit(c.spec)
    again = compile_spec(tmp_path / "emitted.yaml", text=text)
    assert again.graph.signature() == c.graph.signature()


def test_validate_resolves_imports_relative_to_the_spec_not_the_cwd(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from archc.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate", str(ROOT / "specs" / "deeplabv3plus_mobilenetv2.yaml")])
    assert result.exit_code == 0, result.output


def test_add_broadcasts_a_pooled_vector_but_not_other_shapes(specs):
    ok = "  - id: b\n    rows:\n      - {op: adaptive_avgpool, size: 1, id: g}\n      - {op: add, from: [g, input]}\n"
    assert compile_spec(specs("host.yaml", host(ok))).graph.shape("b.1.0") == (3, 224, 224)
    bad = ok.replace("size: 1", "size: 2")
    with pytest.raises(GraphError, match="add needs inputs of one shape"):
        compile_spec(specs("host.yaml", host(bad)))
