"""docs/tutorial.md as a new user meets it: every command of its ```sh blocks runs verbatim, in
order, in a fresh copy of the repository's tracked files (nothing of this checkout's out/ or
caches), through an `archc` on PATH that runs the copy's package. A line commented
`exit code 2` must be refused with one `archc: error:` line. With ARCHC_TUTORIAL_TIMES=FILE the
commands' wall times are written there as JSON."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "tutorial.md"


def commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_tutorial_has_its_commands():
    knob_study = DOC.read_text().split("## 2.")[1]
    assert len(commands()) >= 15 and knob_study.count("\narchc ") == 10  # "in ten commands"
    assert all(line.startswith("archc ") for line in commands())


def fresh_copy(dest: Path) -> Path:
    """The files a clone has: tracked (and new, not ignored) ones, copied; nothing else."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def user_env(bin_dir: Path, clone: Path) -> dict:
    """`archc` on PATH, running the clone's package with this interpreter (as `pip install -e .` would)."""
    bin_dir.mkdir()
    (bin_dir / "archc").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m archc "$@"\n')
    (bin_dir / "archc").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(clone),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}


@pytest.mark.slow
@pytest.mark.timeout(1200)  # ~3 min on an idle 2-core machine: it exports 6 models, each in a fresh process
def test_every_tutorial_command_runs_verbatim_in_a_fresh_copy(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files a clone has")
    clone = fresh_copy(tmp_path / "clone")
    env, times, before = user_env(tmp_path / "bin", clone), {}, {p.name for p in clone.iterdir()}
    for line in commands():
        expect = 2 if "exit code 2" in line else 0
        start = time.perf_counter()
        done = subprocess.run(line, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
        times[line] = round(time.perf_counter() - start, 2)
        if os.environ.get("ARCHC_TUTORIAL_TIMES"):  # after every command, so a slow step shows which it is
            Path(os.environ["ARCHC_TUTORIAL_TIMES"]).write_text(json.dumps(times, indent=1) + "\n")
        assert done.returncode == expect, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        if expect == 2:
            assert done.stderr.strip().splitlines()[-1].startswith("archc: error: ")
    out = clone / "out" / "tutorial"
    assert (out / "fastscnn" / "model.onnx").exists() and (out / "pareto.png").exists()
    assert {p.name for p in clone.iterdir()} - before == {"out"}  # every output where a command was told

