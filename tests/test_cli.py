"""The CLI shell: commands, exit codes, artifacts."""
import json

from typer.testing import CliRunner

from archc.cli import app

runner = CliRunner()


def test_validate_ok():
    result = runner.invoke(app, ["validate", "specs/fastscnn.yaml"])
    assert result.exit_code == 0 and "ok" in result.stdout


def test_summary_table_shows_layers_and_totals():
    result = runner.invoke(app, ["summary", "specs/fastscnn.yaml"])
    assert result.exit_code == 0
    assert "gfe.0.1.expand.conv" in result.stdout and "1,122,673" in result.stdout


def test_ops_lists_primitives_and_blocks():
    result = runner.invoke(app, ["ops"])
    assert result.exit_code == 0
    for name in ("conv", "bottleneck", "ppm", "fusion", "dsconv"):
        assert name in result.stdout


def test_missing_file_and_directory_are_user_errors(tmp_path):
    for target in ("specs/nope.yaml", str(tmp_path)):
        result = runner.invoke(app, ["summary", target])
        assert result.exit_code == 2 and result.stderr.startswith("archc: error: ")


def test_unknown_variable_is_a_user_error():
    result = runner.invoke(app, ["summary", "specs/fastscnn.yaml", "--var", "clases=3"])
    assert result.exit_code == 2
    assert "did you mean 'classes'" in result.stderr


def test_bad_input_option():
    result = runner.invoke(app, ["summary", "specs/fastscnn.yaml", "--input", "512x512"])
    assert result.exit_code == 2 and "CxHxW" in result.stderr


def test_build_writes_spec_summary_and_onnx(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", "specs/fastscnn.yaml", "--input", "3x256x256", "--pass", "width=0.25",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {"model.onnx", "spec.yaml", "summary.json"} <= {p.name for p in out.iterdir()}
    summary = json.loads((out / "summary.json").read_text())
    again = runner.invoke(app, ["summary", str(out / "spec.yaml"), "--json"])
    assert json.loads(again.stdout)["params"] == summary["params"]
    assert "width=0.25" in (out / "spec.yaml").read_text()


def test_build_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    result = runner.invoke(app, ["build", "specs/fastscnn.yaml", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--force" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]
