"""Issue 28, output folders: every command that takes --out either refuses a folder holding a user's files
(one line, exit 2) or leaves it byte-identical apart from archc's own new files; a second process on a
run folder or a study refuses in one line while the first runs."""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys

import pytest
from faults2_util import ROOT, fingerprint, invoke, kept, one_error, tiny_setup, user_folder

SPACE = "choices:\n  width: [0.5, 0.25]\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    spec, data = tiny_setup(root)
    code, errors, out = invoke("train", spec, "--data", data, "--epochs", 1, "--batch", 4, "--out", root / "run")
    assert code == 0, out
    (root / "space.yaml").write_text(SPACE)
    return root


def _command(name: str, tiny, out) -> list:
    spec, data, run = tiny / "tiny.yaml", tiny / "data", tiny / "run"
    return {
        "build": ["build", spec, "--out", out],
        "sweep": ["sweep", spec, "--grid", "width=1,0.5", "--out", out],
        "train": ["train", spec, "--data", data, "--epochs", 1, "--out", out],
        "eval --quantize": ["eval", spec, "--weights", run / "weights.pt", "--data", data, "--quantize", "dynamic",
                            "--out", out],
        "search": ["search", spec, "--space", tiny / "space.yaml", "--objective", "macs", "--sampler", "grid",
                   "--no-build", "--out", out],
        "predict": ["predict", "--models", run, data, "--images", 1, "--out", out],
        "quantize-report": ["quantize-report", spec, "--weights", run / "weights.pt", "--data", data, "--images", 1,
                            "--out", out],
    }[name]


@pytest.mark.parametrize("name", ["build", "sweep", "train", "eval --quantize", "search", "predict",
                                  "quantize-report"])
def test_a_folder_of_a_users_files_is_refused_or_kept(tiny, tmp_path, name):
    """The property: for every command taking --out, a user's files (named like archc's outputs) survive."""
    out = tmp_path / "mine"
    before = user_folder(out)
    code, errors, text = invoke(*_command(name, tiny, out))
    assert kept(before, out), (name, text)
    assert code == 0 or one_error(code, errors, str(out)), (name, text)
    if code == 2:  # refused: nothing of archc's was left there either
        assert fingerprint(out) == before, name


@pytest.mark.parametrize("name", ["train", "search", "eval --quantize"])
def test_archc_replaces_only_its_own_files_on_a_second_run(tiny, tmp_path, name):
    out = tmp_path / "o"
    code, errors, text = invoke(*_command(name, tiny, out))
    assert code == 0, text
    (out / "notes.txt").write_text("mine, added later")
    before = fingerprint(out)
    if name == "train":  # a finished run: refused without --resume, and nothing changed
        code, errors, text = invoke(*_command(name, tiny, out))
        assert one_error(code, errors, "--resume") and fingerprint(out) == before, text
        return
    code, errors, text = invoke(*_command(name, tiny, out))
    assert code == 0, text
    assert (out / "notes.txt").read_text() == "mine, added later"


def _hold(folder):
    """Hold the folder's run lock as another process would (flock on .archc-lock)."""
    fd = os.open(folder / ".archc-lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, b"4242\n")
    return fd


@pytest.mark.parametrize("name", ["train", "search"])
def test_a_second_process_on_the_same_folder_refuses_in_one_line(tiny, tmp_path, name):
    out = tmp_path / "busy"
    code, _, text = invoke(*_command(name, tiny, out))
    assert code == 0, text
    args = _command(name, tiny, out) + (["--resume"] if name == "train" else [])
    fd = _hold(out)  # held here as the first process would hold it (flock: per open file, so it conflicts)
    try:
        before = fingerprint(out)
        code, errors, text = invoke(*args)
    finally:
        os.close(fd)
    assert one_error(code, errors, "another archc process"), text
    assert fingerprint(out) == before


def test_two_trains_at_once_one_refuses(tiny, tmp_path):
    """Two real processes on one --out: one trains, the other refuses in one line; the run is whole."""
    spec, data, out = tiny / "tiny.yaml", tiny / "data", tmp_path / "race"
    args = [sys.executable, "-m", "archc", "train", str(spec), "--data", str(data), "--epochs", "3", "--batch", "1",
            "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=240) + (p.returncode,) for p in procs]
    codes = sorted(r[2] for r in results)
    loser = next((r for r in results if r[2] == 2), None)
    assert codes in ([0, 2], [0, 0]), results  # [0, 0]: the first ended before the second began
    if loser is not None:
        lines = [l for l in loser[1].splitlines() if l.startswith("archc:")]
        assert len(lines) == 1 and ("another archc process" in lines[0] or "--resume" in lines[0]), loser[1]
    assert len(__import__("json").loads((out / "metrics.json").read_text())["epochs"]) == 3


@pytest.mark.parametrize("name", ["sweep", "search"])
def test_a_bad_data_folder_is_refused_before_the_output_folder_is_made(tiny, tmp_path, name):
    """sweep --train and search --train check --data before anything is analysed: they left OUT/cache (and a
    search its study.db) behind the one-line refusal."""
    out, missing = tmp_path / "out", tmp_path / "no-data"
    args = {"sweep": ["sweep", tiny / "tiny.yaml", "-g", "width=0.5,0.25", "--train", 1],
            "search": ["search", tiny / "tiny.yaml", "--space", tiny / "space.yaml", "--objective", "miou:max",
                       "--trials", 2, "--train", 1, "--no-build"]}[name]
    code, errors, output = invoke(*args, "--data", missing, "--out", out)
    assert one_error(code, errors, f"--data {missing}: not a directory"), output
    assert not out.exists()
