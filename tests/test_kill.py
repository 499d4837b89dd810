"""Build and sweep killed with SIGINT, SIGTERM and SIGKILL at several moments (real processes), then
rerun: no temporaries left after the rerun, no user file lost, no worker process alive."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["specs/fastscnn.yaml", "--pass", "width=0.125", "--input", "3x64x64"]
CODES = {signal.SIGINT: (130, "interrupted"), signal.SIGTERM: (143, "terminated"), signal.SIGKILL: (-9, "")}
pytestmark = pytest.mark.slow


def _env(tmp_path) -> dict:
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp_path / "tmp")}


def _start(args, tmp_path):
    return subprocess.Popen([sys.executable, "-m", "archc", *map(str, args)], cwd=ROOT, env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, proc, timeout=180):
    """Poll until `condition()`; False if the process ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _descendants(pid: int) -> set:
    """Every live process below `pid` (from /proc: children are recorded while the parent lives)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _temporaries(*folders) -> list:
    return sorted(str(p) for f in folders if f.is_dir() for p in f.rglob("*.tmp"))


def _kill(proc, sig) -> str:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    code, word = CODES[sig]
    assert proc.returncode == code, err
    if sig == signal.SIGKILL:  # no last word; multiprocessing's tracker may report the semaphores it freed
        return err
    errors = [line for line in err.splitlines()  # pass notes and progress lines (`build 1/2 (3.1 s): ...`) aside
              if not line.startswith("note:") and not re.match(r"^[a-z][\w ]* \d+/\d+ \(\d+\.\d s\)", line)]
    assert "Traceback" not in err and len(errors) == (1 if word else 0) and word in err, err  # one line
    return err


EARLY = lambda tmp: True  # noqa: E731 - the temporary folder exists: exporting
LATE = lambda tmp: (tmp / "model.onnx").exists()  # noqa: E731 - the model is written: verifying, simplifying


def test_killed_builds_leave_nothing_and_lose_nothing(tmp_path):
    """Four kills (a build costs seconds, so each moment once), then one rerun cleans what SIGKILL left."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    for sig, ready in ((signal.SIGINT, EARLY), (signal.SIGTERM, LATE), (signal.SIGKILL, EARLY),
                       (signal.SIGKILL, LATE)):
        proc = _start(["build", *SMALL, "--out", out, "--force"], tmp_path)
        pattern = f".out.{proc.pid}.*.tmp"
        temp = lambda: next(iter(tmp_path.glob(pattern)), None)  # noqa: E731, B023 - used in this iteration
        assert _wait_for(lambda: temp() is not None and ready(temp()), proc), proc.communicate()[1]  # noqa: B023
        _kill(proc, sig)
        if sig != signal.SIGKILL:  # cleaned up by the run itself
            assert _temporaries(tmp_path) == [], sig
        assert sorted(os.listdir(out)) == ["notes.txt"], sig
    assert len(_temporaries(tmp_path)) == 1  # the last SIGKILL's (the run after the first removed that one)
    rerun = subprocess.run([sys.executable, "-m", "archc", "build", *SMALL, "--out", str(out), "--force"],
                           cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert _temporaries(tmp_path) == []
    assert (out / "notes.txt").read_text() == "mine" and (out / "model.onnx").is_file()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_killed_sweeps_end_their_workers(tmp_path, sig):
    out = tmp_path / "s"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    widths = ",".join(f"{0.1 + 0.005 * i:.3f}" for i in range(128))
    args = ["sweep", *SMALL[:1], "--grid", f"width={widths}", "--grid", "input=3x256x256,3x384x384,3x512x512,3x640x640",
            "--jobs", "2", "--out", out, "--force"]  # 512 configurations: still running when killed (a new width
    # is a new structure, some ms each since the workspace; 64 finished in 0.4 s, before the kill)
    for delay in (0.0, 0.5):  # as the workers start, and while they work
        proc = _start(args, tmp_path)
        pid = proc.pid
        assert _wait_for(lambda: len(_descendants(pid)) >= 3, proc), proc.communicate()[1]  # noqa: B023 - 2 + tracker
        time.sleep(delay)
        workers = _descendants(proc.pid)
        err = _kill(proc, sig)
        assert sig == signal.SIGKILL or f"{out} keeps what was finished (cache/): the same command reuses it" in err
        end = time.monotonic() + 15
        while any(map(_alive, workers)) and time.monotonic() < end:
            time.sleep(0.1)
        assert not any(map(_alive, workers)), [p for p in workers if _alive(p)]
        assert (out / "notes.txt").read_text() == "mine"
    rerun = subprocess.run([sys.executable, "-m", "archc", *map(str, args)], cwd=ROOT, env=_env(tmp_path),
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert _temporaries(tmp_path) == [] and (out / "results.csv").is_file()
    assert (out / "notes.txt").read_text() == "mine"


def test_an_interrupted_search_says_it_keeps_its_study(tmp_path):
    """SIGINT's one line says what the search leaves: its study, which the same command continues (it said
    "no partial output left")."""
    import optuna

    out = tmp_path / "s"
    proc = _start(["search", "fastscnn", "--space", "spaces/fastscnn_stages.yaml", "--latency-model",
                   "rpi4-ort-thesis", "--trials", "3000", "--objective", "macs:max", "--no-build", "--out", out],
                  tmp_path)
    assert _wait_for(lambda: (out / "results.csv").is_file(), proc), proc.communicate()[1]  # a batch is told
    err = _kill(proc, signal.SIGINT)
    assert f"{out} keeps the study (its study.db): the same command continues where it stopped" in err
    study = optuna.load_study(study_name="archc", storage=f"sqlite:///{out / 'study.db'}")
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) >= 1
