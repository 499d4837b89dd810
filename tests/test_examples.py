"""Each script in examples/ runs on its own and prints its published numbers beside ours."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# script -> lines its output must contain (ours, reproducing a published figure)
EXPECTED = {
    "fastscnn_knobs.py": ["1,122,673  1,122,673    830.67    830.67      209.9     209.9", "25,367     25,367"],
    "deeplab_backbones.py": ["5,225,717", "6,241,557", "11,138,085"],
    "essnet_grouping.py": ["ESSNetB-DG2       421,376    395,568   +25,808", "saves 75,776 params here and 75,776",
                          "g 2 -> 4 saves 75,776 params / 0.87 G in the thesis's ESSNet rows, 75,776 / 0.87 G in ESSNetB, "
                          "65,536 / 0.54 G in ESSNetA"],
    "mobilenetv2_widths.py": ["0.35   1,677,128   1.66M     1.66M     59.30        59"],
}


def test_every_example_is_covered():
    assert sorted(p.name for p in (ROOT / "examples").glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_and_reproduces_its_numbers(script):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script)], capture_output=True, text=True,
                            env=env, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    for line in EXPECTED[script]:
        assert line in result.stdout, f"{line!r} not in:\n{result.stdout}"
