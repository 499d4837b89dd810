"""Issue 28: a study shared through --storage. A second `archc search` on a study another one is running is
refused in one line (nothing of it written) unless it joins with --join; joined processes, real ones on a
real SQLite file, never fail each other's trials and never evaluate one configuration twice."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from faults2_util import ROOT, TINY, invoke, one_error

SPACE = "choices:\n  width: [1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25]\n  input: [3x128x128, 3x192x192, 3x256x256]\n"
N = 21  # configurations in SPACE


def _setup(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    (tmp_path / "space.yaml").write_text(SPACE)
    return [sys.executable, "-m", "archc", "search", str(tmp_path / "tiny.yaml"), "--space",
            str(tmp_path / "space.yaml"), "--objective", "median_ms", "--runtime", "torch", "--runs", "150",
            "--warmup", "2", "--sampler", "grid", "--no-build", "--storage", f"sqlite:///{tmp_path / 'st.db'}"]


def _wait_line(proc, pattern: str) -> str:
    """Read the process's stderr until a line matches (the test's timeout bounds the wait)."""
    for line in proc.stderr:
        if re.search(pattern, line):
            return line
    raise AssertionError(f"{pattern!r} never came; exit {proc.wait()}")


@pytest.mark.slow  # two real searches side by side (about 30 s on a loaded 2-core machine)
@pytest.mark.timeout(600)
def test_a_second_search_is_refused_unless_it_joins_and_joined_ones_share_the_study(tmp_path):
    import optuna

    cmd = _setup(tmp_path)
    first = subprocess.Popen(cmd + ["--out", str(tmp_path / "a")], cwd=ROOT, stderr=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        _wait_line(first, rf"search [1-9]\d*/{N}")  # the first process has finished a trial and goes on
        joined = subprocess.Popen(cmd + ["--out", str(tmp_path / "c"), "--join"], cwd=ROOT, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        refused = subprocess.run(cmd + ["--out", str(tmp_path / "b")], cwd=ROOT, capture_output=True, text=True,
                                 timeout=300)
        errors = [x for x in refused.stderr.splitlines() if x.startswith("archc:")]
        assert refused.returncode == 2 and len(errors) == 1 and "--join" in errors[0], refused.stderr
        assert not (tmp_path / "b").exists()  # refused before its --out was made
        assert joined.wait(500) == 0, joined.communicate()[1]
        out, err = first.communicate(timeout=300)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 0, err
    study = optuna.load_study(study_name="archc", storage=f"sqlite:///{tmp_path / 'st.db'}")
    state = optuna.trial.TrialState
    assert not study.get_trials(states=(state.FAIL, state.RUNNING))  # no process failed another's trial
    complete = study.get_trials(states=(state.COMPLETE,))
    configs = [tuple(sorted(t.params.items())) for t in complete]
    assert len(configs) == len(set(configs)) == N  # each configuration evaluated exactly once
    assert len({t.user_attrs["pid"] for t in complete}) == 2  # both processes evaluated some
    assert first.pid in {t.user_attrs["pid"] for t in complete}


def test_a_server_database_is_refused_before_any_work(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    (tmp_path / "space.yaml").write_text(SPACE)
    code, errors, text = invoke("search", tmp_path / "tiny.yaml", "--space", tmp_path / "space.yaml",
                                "--objective", "params", "--storage", "postgresql://u@localhost/db", "--join",
                                "--out", tmp_path / "s")
    assert one_error(code, errors, "sqlite:///PATH"), text
    assert not (tmp_path / "s").exists()


SITS = """
import sys, time
from archc.search.shared import Seat

with Seat.of(sys.argv[1], join=True):
    print("seated", flush=True)
    time.sleep(3600)
"""


@pytest.mark.timeout(120)
def test_a_seat_is_held_by_a_live_process_only_and_freed_by_sigkill(tmp_path):
    """The liveness the join rules rest on: another process's seat refuses a second one (not a joiner) while
    that process lives, and its SIGKILL frees it (its POSIX lock goes with it): no stale lock to clear."""
    import signal

    from archc.errors import ArchcError
    from archc.search.shared import Seat

    url = f"sqlite:///{tmp_path / 'st.db'}"
    child = subprocess.Popen([sys.executable, "-c", SITS, url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "seated"
        with pytest.raises(ArchcError, match=rf"pid {child.pid}.*--join"):
            Seat.of(url, join=False).__enter__()
        with Seat.of(url, join=True) as seat:
            with seat.mutex():
                assert seat.shared() and seat.other(child.pid) and not seat.other(os.getpid())
            child.send_signal(signal.SIGKILL)
            child.wait(60)
            with seat.mutex():
                assert not seat.shared() and not seat.other(child.pid)
    finally:
        child.kill()
        child.wait()
    with Seat.of(url, join=False):  # alone again: no --join needed
        pass
