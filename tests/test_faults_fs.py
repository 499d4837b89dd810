"""File-system faults of issue 17 (read-only and full disks, files where folders belong, dangling
links, /proc): each is one `archc: error:` line naming the path and the cause, exit 2."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archc.cli import app
from faults2_util import unshare_ok

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("setup, message", [
    ("out_is_file", "exists and is not a directory"), ("cache_is_file", "cannot write"),
    ("entry_is_folder", "Is a directory"), ("proc", "cannot"), ("dangling", "which does not exist")])
def test_sweep_file_system_faults_are_user_errors(tmp_path, setup, message):
    out = tmp_path / "s"
    if setup == "out_is_file":
        out.write_text("x")
    elif setup == "dangling":
        out.symlink_to(tmp_path / "nowhere" / "s")
    elif setup == "proc":
        out = Path("/proc/self/x")
    else:
        args = ["sweep", "specs/fastscnn.yaml", "--grid", "width=0.5", "--out", str(out)]
        assert runner.invoke(app, args).exit_code == 0
        for entry in (out / "cache").iterdir():
            entry.unlink()
            entry.mkdir() if setup == "entry_is_folder" else None
        if setup == "cache_is_file":
            (out / "cache").rmdir()
            (out / "cache").write_text("x")
    result = runner.invoke(app, ["sweep", "specs/fastscnn.yaml", "--grid", "width=0.5", "--out", str(out)])
    assert result.exit_code == 2 and message in result.output, result.output


# 8: read-only and full file systems (a private tmpfs mount in a user namespace)
@pytest.mark.skipif(not unshare_ok(), reason="needs unshare -rm (user and mount namespaces)")
@pytest.mark.parametrize("mount, message", [("ro", "Read-only file system"), ("size=8k", "No space left")])
def test_sweep_on_a_read_only_or_full_disk(tmp_path, mount, message):
    (tmp_path / "m").mkdir()
    script = (f"mount -t tmpfs -o {mount} none {tmp_path}/m && cd {ROOT} && exec {sys.executable} -m archc "
              f"sweep specs/fastscnn.yaml --grid width=1,0.5,0.25,0.125 --out {tmp_path}/m/s")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("sweep ")]  # progress lines aside
    assert result.returncode == 2 and message in result.stderr and len(errors) == 1, result.stderr


@pytest.mark.skipif(not unshare_ok(), reason="needs unshare -rm (user and mount namespaces)")
@pytest.mark.parametrize("command", [
    "build specs/fastscnn.yaml --out {m}/out", "graph specs/fastscnn.yaml -o {m}/g.dot",
    "pareto {results} --axes macs,params -o {m}/p"])
def test_read_only_outputs_are_user_errors(tmp_path, command):
    """Read-only output for build, graph and pareto: one line naming the path, before any export."""
    results = tmp_path / "results.json"
    results.write_text(json.dumps([{"config": "a", "status": "ok", "macs": 1, "params": 2}]))
    (tmp_path / "m").mkdir()
    line = command.format(m=tmp_path / "m", results=results)
    script = (f"mount -t tmpfs -o ro none {tmp_path}/m && cd {ROOT} && exec {sys.executable} -m archc {line}")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    errors = [e for e in result.stderr.splitlines() if not e.startswith("note:")]
    assert result.returncode == 2 and len(errors) == 1 and "Read-only file system" in errors[0], result.stderr
    assert str(tmp_path / "m") in errors[0]


@pytest.mark.parametrize("out, message", [("dangling", "which does not exist"), ("/proc/self/x", "cannot")])
def test_build_output_faults_are_refused_before_export(tmp_path, out, message):
    if out == "dangling":
        out = tmp_path / "link"
        out.symlink_to(tmp_path / "gone" / "out")
    result = runner.invoke(app, ["build", "specs/fastscnn.yaml", "--pass", "width=0.125", "--input", "3x64x64",
                                 "--out", str(out)])
    assert result.exit_code == 2 and message in result.output, result.output


@pytest.mark.slow
@pytest.mark.skipif(not unshare_ok(), reason="needs unshare -rm (user and mount namespaces)")
def test_build_on_a_full_disk_is_a_user_error_and_leaves_nothing(tmp_path):
    (tmp_path / "m").mkdir()
    script = (f"mount -t tmpfs -o size=64k none {tmp_path}/m && cd {ROOT} && {sys.executable} -m archc build "
              f"specs/fastscnn.yaml --pass width=0.125 --input 3x64x64 --out {tmp_path}/m/out; rc=$?; "
              f"ls -a {tmp_path}/m; exit $rc")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    errors = [e for e in result.stderr.splitlines() if not e.startswith("note:")]
    assert result.returncode == 2 and len(errors) == 1 and "No space left" in errors[0], result.stderr
    assert result.stdout.split() == [".", ".."]  # no output folder, no temporary
