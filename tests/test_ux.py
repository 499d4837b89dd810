"""What a new user meets (issue 16): each test pins one item of the issue's list."""
import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archc.cli import app, render
from archc.passes import catalog

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_no_file_cites_what_a_clone_lacks():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for name in tracked:
        if name.endswith((".py", ".md", ".yaml", ".toml")) and name != "tests/test_ux.py":
            text = (ROOT / name).read_text()
            assert "REFERENCES" not in text and "../shared" not in text, name


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == "archc 0.1.0"


def test_a_bundled_spec_is_found_by_name():
    result = invoke("summary", "mobilenetv2", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["params"] == 3504872
    wrong = invoke("summary", "mobilenet_v2")
    assert wrong.exit_code == 2 and "did you mean 'mobilenetv2'" in wrong.stderr
    prefixed = invoke("summary", "archc:mobilenetv2", "--json")  # as an import writes it
    assert prefixed.exit_code == 0 and json.loads(prefixed.stdout)["params"] == 3504872
    wrong = invoke("summary", "archc:mobilenet_v2")
    assert wrong.exit_code == 2 and "did you mean 'mobilenetv2'" in wrong.stderr


def test_specs_lists_the_library_with_figures_and_sources():
    result = invoke("specs", "--json")
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert len(entries) == len(list((ROOT / "specs").glob("*.yaml")))
    fast = entries["fastscnn"]
    assert (fast["params"], fast["macs"], fast["input"]) == (1122673, 830667136, [3, 512, 512])
    assert fast["source"].startswith("Fast-SCNN (Poudel, Liwicki, Cipolla") and fast["source"].endswith("BMVC 2019)")


def test_graph_format_follows_the_suffix(tmp_path):
    assert invoke("graph", "fastscnn", "-o", tmp_path / "g.mmd").exit_code == 0
    assert (tmp_path / "g.mmd").read_text().startswith("flowchart TB")
    assert invoke("graph", "fastscnn", "-o", tmp_path / "g.dot").exit_code == 0
    assert (tmp_path / "g.dot").read_text().startswith('digraph "fastscnn"')
    clash = invoke("graph", "fastscnn", "--format", "dot", "-o", tmp_path / "g.png")
    assert clash.exit_code == 2 and "--format dot but -o" in clash.stderr and not (tmp_path / "g.png").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
def test_graph_png_from_the_suffix_is_a_png(tmp_path):
    assert invoke("graph", "fastscnn", "-o", tmp_path / "g.png").exit_code == 0
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_outputs_make_their_folder_and_nothing_lands_in_the_current_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("graph", ROOT / "specs/mobilenetv2.yaml", "-o", "out/tutorial/m.mmd").exit_code == 0
    assert (tmp_path / "out/tutorial/m.mmd").exists()
    picture = invoke("graph", "fastscnn", "--format", "png")
    assert picture.exit_code == 2 and "-o graph.png" in picture.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _results(path: Path) -> Path:
    rows = [{"config": f"width={w}", "status": "ok", "width": w, "macs": m, "median_ms": ms}
            for w, m, ms in (("1", 100, 5.0), ("0.5", 40, 2.0), ("0.25", 30, 2.5))]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_pareto_writes_what_o_names_and_defaults_beside_the_results(tmp_path, monkeypatch):
    (tmp_path / "runs").mkdir()
    results = _results(tmp_path / "runs" / "results.csv")
    monkeypatch.chdir(tmp_path)
    one = invoke("pareto", results, "--axes", "median_ms,macs", "-o", "pp.png")
    assert one.exit_code == 0 and "wrote pp.png:" in one.stdout and "pp.png.png" not in one.stdout
    assert (tmp_path / "pp.png").read_bytes()[:4] == b"\x89PNG" and not (tmp_path / "pp.svg").exists()
    bad = invoke("pareto", results, "--axes", "median_ms,macs", "-o", "pp.jpg")
    assert bad.exit_code == 2 and ".png or .svg" in bad.stderr
    (tmp_path / "pp.png").unlink()
    assert invoke("pareto", results, "--axes", "median_ms,macs").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    assert {p.name for p in (tmp_path / "runs").iterdir()} == {"results.csv", "pareto.png", "pareto.svg"}


def test_grey_points_are_labelled(tmp_path):
    """With low latency and high MACs better, width=0.25 (slower than 0.5 with fewer MACs) is dominated:
    a grey point, labelled all the same (the SVG keeps text as text)."""
    results = _results(tmp_path / "results.csv")
    assert invoke("pareto", results, "--axes", "median_ms,macs", "--better", "low,high", "-o",
                  tmp_path / "p.svg").exit_code == 0
    svg = (tmp_path / "p.svg").read_text()
    assert all(f"a={w}" in svg for w in ("1", "0.5", "0.25"))  # frontier and grey points alike


def test_sweep_plot_takes_directions(tmp_path):
    args = ["sweep", "fastscnn", "--grid", "width=0.5,0.25", "--input", "3x256x256", "--jobs", "1",
            "--plot", "macs,params", "--out"]
    both_low = invoke(*args, tmp_path / "a")
    assert both_low.exit_code == 0 and "1 configurations on the frontier" in both_low.stdout
    trade = invoke(*args, tmp_path / "b", "--better", "low,high")
    assert trade.exit_code == 0 and "2 configurations on the frontier" in trade.stdout
    assert invoke("sweep", "fastscnn", "--grid", "width=0.5", "--plot", "macs,params").exit_code == 2


def test_progress_is_one_plain_line_per_configuration_off_a_terminal():
    result = invoke("sweep", "fastscnn", "--grid", "width=0.5,0.25", "--input", "3x256x256", "--jobs", "1")
    lines = [line for line in result.stderr.splitlines() if line.startswith("sweep ")]
    assert [line.split(": ", 1)[1] for line in lines] == ["analysed width=0.5", "analysed width=0.25"]
    assert lines[0].startswith("sweep 1/2 (")


def test_unprofiled_sweep_has_no_empty_latency_column():
    result = invoke("sweep", "fastscnn", "--grid", "width=0.5,0.25", "--input", "3x256x256", "--jobs", "1")
    assert result.exit_code == 0 and "median" not in result.stdout


def test_messages_are_not_wrapped_when_piped(capsys):
    render.message("vs float32 on 8 synthetic inputs: " + "x" * 230 + " SQNR 32.2 dB")
    render.warning("calibrated on synthetic inputs: " + "y" * 230 + " give --calib DIR")
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 1 and len(captured.err.strip().splitlines()) == 1


def test_explain_does_not_pad_lines():
    result = invoke("explain", "mobilenetv2")
    assert result.exit_code == 0 and "bottleneck" in result.stdout
    assert all(line == line.rstrip() for line in result.stdout.splitlines())


def test_passes_show_whole_descriptions():
    doc = dict((name, doc) for name, _, doc, _ in catalog())["quantize"]
    assert doc.endswith("the spec and the float model are unchanged.") and "fidelity against float32" in doc
    assert "fidelity" in invoke("passes").stdout


def test_flags_are_not_labelled_bool():
    text = invoke("build", "--help").stdout
    assert "--force" in text and "<bool>" not in text and "<int>" in text


def test_an_unknown_simplifier_is_refused_before_anything_is_exported(tmp_path):
    result = invoke("build", "fastscnn", "--simplifier", "onnxslm", "--out", tmp_path / "b")
    assert result.exit_code == 2 and "did you mean 'onnxslim'" in result.stderr and not (tmp_path / "b").exists()


@pytest.mark.slow
def test_build_with_onnxslim_reports_stages_as_plain_lines(tmp_path):
    out = tmp_path / "b"
    built = invoke("build", "fastscnn", "--pass", "width=0.125", "--pass", "drop=ppm", "--input", "3x64x64",
                   "--simplifier", "onnxslim", "--out", out)
    assert built.exit_code == 0, built.output
    assert "after onnxslim" in built.stdout and "build 1/2" in built.stderr and "exported" in built.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["onnx"]["simplifier"] == "onnxslim" and summary["verify"]["max_abs_diff"] <= 1e-4


@pytest.mark.slow
def test_profile_takes_a_build_folder_without_exporting_again(small_build, monkeypatch):
    import archc.deploy.artifacts as artifacts

    _, out, _ = small_build
    monkeypatch.setattr(artifacts, "produce", lambda *a, **k: pytest.fail("profile DIR exported again"))
    timed = invoke("profile", out, "--runs", "3", "--warmup", "1", "--json")
    assert timed.exit_code == 0, timed.output
    assert [r["model"] for r in json.loads(timed.stdout)] == ["model.onnx", "model.int8.onnx"]
    assert invoke("profile", out, "--pass", "width=0.5").exit_code == 2


def test_the_suffix_decides_the_format_without_graphviz():
    from archc.cli.outputs import graph_format, plot_targets

    assert [graph_format(Path(f"g{s}"), None) for s in (".png", ".svg", ".dot", ".mmd", ".txt")] == [
        "png", "svg", "dot", "mermaid", "dot"]
    assert graph_format(None, "mermaid") == "mermaid" and graph_format(Path("g.PNG"), "png") == "png"
    assert plot_targets(Path("pp.png"), Path("r/results.csv")) == [(Path("pp.png"), "png")]
    assert plot_targets(None, Path("r/results.csv")) == [(Path("r/pareto.png"), "png"), (Path("r/pareto.svg"), "svg")]
