"""Issue 28: progress reaches a pipe as it happens. `archc train` piped prints a line per epoch while it runs,
and `sweep --train` prints each configuration's line when that configuration is done (its workers finish out
of order; before, the lines waited for the first configuration and came in one burst at the end). The commands
that train in spawned workers end without multiprocessing's "leaked semaphore" warning."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
from faults2_util import ROOT, tiny_setup

LEAK = re.compile(r"resource_tracker|leaked (semaphore|shared_memory)")  # multiprocessing's warning at exit


def _first_line(proc, pattern: str) -> str:
    """Read stderr until a line matches (bounded by the test's timeout), without waiting for the end."""
    for line in proc.stderr:
        if re.search(pattern, line):
            return line
    raise AssertionError(f"{pattern!r} never came; exit {proc.wait()}")


def _archc(*args):
    return subprocess.Popen([sys.executable, "-m", "archc", *map(str, args)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.timeout(300)
def test_train_piped_prints_each_epoch_while_it_runs(tmp_path):
    spec, data = tiny_setup(tmp_path)
    proc = _archc("train", spec, "--data", data, "--epochs", 40, "--batch", 4, "--out", tmp_path / "r")
    try:
        line = _first_line(proc, r"^epoch 1/40")
        assert proc.poll() is None, "the first epoch's line came only when the run ended"
        assert "loss" in line
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow  # three trainings in two spawned workers (about 25 s on a loaded 2-core machine)
@pytest.mark.timeout(400)
def test_sweep_train_prints_each_configuration_when_it_is_done(tmp_path):
    spec, data = tiny_setup(tmp_path)
    # the first configuration trains far longer than the other two, which finish while it runs
    proc = _archc("sweep", spec, "--grid", "width=48,0.25,0.125", "--train", 3, "--data", data, "--jobs", 2,
                  "--out", tmp_path / "sw")
    try:
        line = _first_line(proc, r"^train 1/3 ")
        assert "width=48" not in line, line  # told when done, not held back behind the first configuration
        assert proc.poll() is None
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "width=48" in err  # its line came too, in its turn
    assert not LEAK.search(err), err  # its workers' pool was shut down: no semaphore left to the tracker


@pytest.mark.slow  # two trainings in spawned workers (about 25 s on a loaded 2-core machine)
@pytest.mark.timeout(400)
def test_a_search_that_trains_in_workers_leaves_nothing_to_the_resource_tracker(tmp_path):
    spec, data = tiny_setup(tmp_path)
    (tmp_path / "space.yaml").write_text("choices:\n  width: [1, 0.5]\n")
    done = subprocess.run([sys.executable, "-m", "archc", "search", str(spec), "--space", str(tmp_path / "space.yaml"),
                           "--objective", "miou", "--train", "1", "--data", str(data), "--jobs", "2", "--sampler",
                           "grid", "--no-build", "--out", str(tmp_path / "s")], cwd=ROOT, capture_output=True,
                          text=True, timeout=380)
    assert done.returncode == 0, done.stderr
    assert not LEAK.search(done.stderr), done.stderr
