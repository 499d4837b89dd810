"""Every file in tests/bad_specs/ is refused with the one line its header names,
exit code 2, no traceback, and no output written."""
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archc.cli import app

BAD = sorted(Path(__file__).parent.joinpath("bad_specs").glob("*.yaml"))
runner = CliRunner()


def expected(path: Path) -> str:
    first = path.read_text().splitlines()[:1]
    if not first:
        return f"{path.name}:1:1: the file is empty"
    assert first[0].startswith("# expect: "), f"{path.name} needs a '# expect: <message>' header"
    return first[0][len("# expect: "):]


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
@pytest.mark.parametrize("command", ["validate", "summary"])
def test_bad_spec_gives_one_clear_line(path, command):
    result = runner.invoke(app, [command, f"tests/bad_specs/{path.name}"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"archc: error: tests/bad_specs/{expected(path)}")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_spec_writes_no_output(path, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", f"tests/bad_specs/{path.name}", "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary directory left behind either
