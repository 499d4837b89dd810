"""Every `archc` command in docs/tutorial.md runs as printed (outputs go to a temporary
directory instead of out/tutorial). A command commented `exit code 2` must be refused."""
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archc.cli import app

DOC = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"


def commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip().startswith("archc ")]


def test_the_tutorial_has_its_commands():
    knob_study = DOC.read_text().split("## 2.")[1]
    assert len(commands()) >= 15 and knob_study.count("\narchc ") == 10  # "in ten commands"


@pytest.mark.slow
def test_every_tutorial_command_runs(tmp_path):
    runner = CliRunner()
    for line in commands():
        expect = 2 if "exit code 2" in line else 0
        args = shlex.split(line.replace("out/tutorial", str(tmp_path)), comments=True)[1:]
        result = runner.invoke(app, args)
        assert result.exit_code == expect, f"{line}\n{result.output}"
        if expect == 2:
            assert result.stderr.strip().splitlines()[-1].startswith("archc: error: ")
    assert (tmp_path / "fastscnn" / "model.onnx").exists() and (tmp_path / "pareto.png").exists()
