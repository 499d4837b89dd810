"""`archc graph` and `archc explain`."""
import shutil

import pytest
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec
from archc.reports.draw import to_dot, to_mermaid
from archc.reports.explain import explain, markdown

runner = CliRunner()


def test_dot_has_a_cluster_per_stage_and_shapes_on_edges():
    c = compile_spec("specs/fastscnn.yaml")
    dot = to_dot(c.graph)
    for st in c.spec.stages:
        assert f'subgraph "cluster_{st.id}"' in dot
    assert '"ltd.2.0" -> "ffm.0.0" [label="64x64x64"]' in dot  # the 1/8 skip into the fusion module
    assert '"gfe.ppm.0" -> "ffm.0.0" [label="128x16x16"]' in dot
    # the input and 19 blocks (3 ltd, 9 bottlenecks + PPM, fusion, 5 classifier rows): a chain of 19 edges
    # plus the 1/8 skip into the fusion
    assert dot.count("->") == 20


def test_expanded_view_draws_every_primitive():
    c = compile_spec("specs/mobilenetv2.yaml")
    dot = to_dot(c.graph, expand=True)
    assert all(f'"{n.name}"' in dot for n in c.graph)
    assert 'subgraph "cluster_features.2.0"' in dot


def test_mermaid_text():
    text = to_mermaid(compile_spec("specs/fastscnn.yaml").graph)
    assert text.startswith("flowchart TB") and "n_ltd_2_0 -->|64x64x64| n_ffm_0_0" in text


def test_graph_cli_writes_text_files(tmp_path):
    out = tmp_path / "g.dot"
    result = runner.invoke(app, ["graph", "specs/fastscnn.yaml", "-f", "dot", "-o", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith('digraph "fastscnn"')
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graph_png(tmp_path):
    out = tmp_path / "g.png"
    result = runner.invoke(app, ["graph", "specs/fastscnn.yaml", "-f", "png", "-o", str(out)])
    assert result.exit_code == 0 and out.read_bytes()[:4] == b"\x89PNG"


def test_graph_png_without_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = runner.invoke(app, ["graph", "specs/fastscnn.yaml", "-f", "png", "-o", str(tmp_path / "g.png")])
    assert result.exit_code == 2 and "apt-get install graphviz" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_explain_rows_add_up_to_the_totals():
    c = compile_spec("specs/fastscnn.yaml", ["width=0.5"])
    rows = explain(c)
    assert sum(r.params for r in rows) == c.report.params and sum(r.macs for r in rows) == c.report.macs
    bottleneck = next(r for r in rows if r.stage == "gfe" and r.key == "0")
    assert (bottleneck.n, bottleneck.inputs, bottleneck.out) == (3, ((32, 64, 64),), (32, 32, 32))


def test_explain_markdown_shows_the_formulas():
    md = markdown(compile_spec("specs/mobilenetv2.yaml"))
    assert "| row | input | op | t | c | n | s |" in md
    assert "3·3·96/96·96·56·56 = 2,709,504" in md  # the stride-2 depthwise conv of features.2.0 (worked by hand)


def test_explain_cli_prints_markdown():
    result = runner.invoke(app, ["explain", "specs/mobilenetv2.yaml", "--markdown"])
    assert result.exit_code == 0 and result.stdout.startswith("# mobilenetv2")


def test_expanded_labels_tell_the_conv_kinds_apart():
    """Each expanded node says what it is: kernel, stride, groups, channels; conv kinds have their colours."""
    dot = to_dot(compile_spec("specs/fastscnn.yaml").graph, expand=True)
    assert '"ltd.1.0.depthwise.conv" [label="depthwise.conv\\ndw conv 3x3 /2  32\u219232\\n32x128x128"' in dot
    assert '"ltd.1.0.pointwise.conv" [label="pointwise.conv\\npw conv 1x1  32\u219248\\n48x128x128"' in dot
    assert 'label="conv\\nconv 3x3 /2  3\u219232' in dot  # the dense stem conv
    assert dot.count('fillcolor="#fdd0a2"') == 2 + 9 + 1 + 2  # the depthwise convs: ltd, gfe, fusion, classifier
    grouped = to_dot(compile_spec("specs/fastscnn.yaml", ["groups=4"]).graph, expand=True)
    assert "group conv 1x1 g4" in grouped


def test_expanded_graph_is_laid_out_block_per_rank():
    """A block's primitives share a rank and each block's first node stands under the previous one's, so
    the expanded Fast-SCNN is about as wide as it is tall instead of one 15,000-pixel column."""
    dot = to_dot(compile_spec("specs/fastscnn.yaml").graph, expand=True)
    assert dot.count("rank=same;") == 19 - 3  # every block of more than one primitive (not dropout, conv, resize)
    assert "style=invis, weight=20" in dot and "newrank=true" in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_expanded_png_fits_a_page(tmp_path):
    from PIL import Image

    out = tmp_path / "g.png"
    assert runner.invoke(app, ["graph", "specs/fastscnn.yaml", "--expand", "-o", str(out)]).exit_code == 0
    w, h = Image.open(out).size
    assert 0.5 < w / h < 2 and h < 4000, (w, h)
