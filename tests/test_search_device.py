"""archc search decided for a device: latency predicted by a device model (--latency-model, nothing
runs), measured there (--host, against the suite's real localhost sshd), or both (ranked by the
model, the front confirmed on the device); resumes after SIGKILL without measuring again."""
import json
import os
import signal
import subprocess
import sys

import optuna
import pytest
from test_remote import SSHD, sshd  # noqa: F401  (the real sshd fixture)
from test_search import ROOT, _rows, _space
from typer.testing import CliRunner

from archc.cli import app
from archc.errors import ArchcError
from archc.search.run import SearchRequest, run_search

runner = CliRunner()
TINY = "choices:\n  width: [0.25, 0.125]\n  expand: [6, 2]\n  drop: [ppm]\n  input: [3x64x64]\n"  # 4 configurations
# the searches that export and measure each candidate on the device search the tiny net: what they pin down is the
# search's device loop, and a Fast-SCNN export took 5-6 s of each candidate's 7 (suite time)
NET_SPACE = "choices:\n  width: [1, 0.5]\n  input: [3x32x32, 3x48x48]\n"  # 4 configurations
RUN = ["--runs", "3", "--warmup", "1", "--jobs", "1", "--no-build"]


def _net(tmp_path):
    from tinyspec import tiny_spec

    (tmp_path / "tiny.yaml").write_text(tiny_spec())
    return str(tmp_path / "tiny.yaml")


def _complete(out):
    study = optuna.load_study(study_name="archc", storage=f"sqlite:///{out / 'study.db'}")
    return {t.number: t for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))}


def test_search_by_a_device_model_predicts_every_trial_and_resumes(tmp_path):
    out = tmp_path / "s"

    def search(trials, model="rpi4-ort-thesis"):
        return run_search(SearchRequest("fastscnn", "spaces/thesis.yaml", ["macs:max"], ["median_ms<=33.4"],
                                        trials=trials, build=False, latency_model=model), out)

    first = search(10)
    ok = [r for r in first.rows if r["status"] == "ok"]
    assert ok and all(r["median_ms"] == r["predicted_ms"] and r["latency"] == "predicted: rpi4-ort-thesis" for r in ok)
    assert first.winner["median_ms"] <= 33.4
    summary = json.loads((out / "summary.json").read_text())
    assert summary["latency"] == {"judged_by": "predicted", "source": "predicted: rpi4-ort-thesis"}
    assert summary["winner"]["config"] == first.winner["config"]
    before = {n: t.user_attrs["row"] for n, t in _complete(out).items()}
    again = search(16)
    assert len({r["config"] for r in again.rows}) == 16
    assert all(_complete(out)[n].user_attrs["row"] == row for n, row in before.items())  # kept, not redone
    other = tmp_path / "other.json"
    model = json.loads((ROOT / "archc" / "devices" / "rpi4-ort-thesis.json").read_text())
    other.write_text(json.dumps(dict(model, offset=5.0)))
    with pytest.raises(ArchcError, match="latency source differ"):
        search(16, str(other))


def test_without_train_miou_is_the_capacity_objective_macs_and_says_so(tmp_path):
    args = ["search", "fastscnn", "--space", _space(tmp_path), "--latency-model", "rpi4-ort-thesis", "--budget",
            "median_ms<=33.4", "--objective", "miou:max", "--trials", "3", "--no-build", "--out", str(tmp_path / "o")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "replaced by the capacity objective macs:max" in " ".join(result.output.split())
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["objectives"] == ["macs:max"] and "macs:max" in summary["notes"][0]
    bad = runner.invoke(app, args[:4] + ["--budget", "predicted_ms<=30", "--objective", "macs", "--out",
                                         str(tmp_path / "p")])
    assert bad.exit_code == 2 and "predicted_ms needs --latency-model" in bad.output


def _host(sshd, config=None):  # noqa: F811
    return ["--host", sshd["dest"] if config is None else "archc-dev", "--identity", str(sshd["key"]),
            "--ssh-config", str(config or sshd["config"]), "--remote-python", sys.executable]


@pytest.mark.slow
@pytest.mark.skipif(SSHD is None, reason="OpenSSH is not installed")
def test_search_on_the_device_measures_there_and_with_a_model_confirms_its_front(tmp_path, sshd):  # noqa: F811
    space, net = _space(tmp_path, NET_SPACE), _net(tmp_path)
    there = runner.invoke(app, ["search", net, "--space", space, "--objective", "macs:max", "--budget",
                                "median_ms<=1000", "--sampler", "grid", *RUN, "--out", str(tmp_path / "h"),
                                *_host(sshd)])
    assert there.exit_code == 0, there.output
    rows = json.loads((tmp_path / "h" / "results.json").read_text())
    assert len(rows) == 4 and all(r["latency"] == f"measured: {sshd['dest']}" and r["median_ms"] > 0 for r in rows)
    both = runner.invoke(app, ["search", net, "--space", space, "--objective", "macs:max", "--objective",
                               "median_ms", "--budget", "median_ms<=1000", "--sampler", "grid", *RUN,
                               "--latency-model", "rpi4-ort-thesis", "--out", str(tmp_path / "b"), *_host(sshd)])
    assert both.exit_code == 0, both.output
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    judged = summary["latency"]
    assert judged["judged_by"] == "measured" and judged["device"] == sshd["dest"]
    assert judged["ranked_by"] == "predicted: rpi4-ort-thesis" and 1 <= judged["measured"] <= judged["candidates"] <= 4
    assert f"measured {judged['measured']} of {judged['candidates']}" in " ".join(both.output.split())
    winner = summary["winner"]
    assert winner["latency"] == f"measured: {sshd['dest']}" and winner["median_ms"] != winner["predicted_ms"]


HELD = """#!{python}
# the device's Python, held: once OUT/results.csv lists a finished batch, a timing run says so through a FIFO
# and waits for the lock the test holds, so the search cannot get past its next batch before the test kills it
import csv, fcntl, os, sys
try:
    with open({out!r}) as f:
        held = len(list(csv.DictReader(f))) >= {n}
except OSError:
    held = False
if held and os.path.exists({fifo!r}):  # the test removes the FIFO once it has killed the search
    with open({fifo!r}, "w") as said:
        said.write("held\\n")
    with open({lock!r}) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
os.execv(sys.executable, [sys.executable] + sys.argv[1:])
"""


def _held_python(tmp_path, out, n):
    """The --remote-python that holds timing runs once `n` trials are finished (see HELD), and its FIFO and lock."""
    fifo, lock, script = tmp_path / "held.fifo", tmp_path / "device.lock", tmp_path / "held_python"
    os.mkfifo(fifo)
    lock.write_text("")
    script.write_text(HELD.format(python=sys.executable, out=str(out / "results.csv"), n=n, fifo=str(fifo),
                                  lock=str(lock)))
    script.chmod(0o755)
    return script, fifo, lock


def _kill_when_held(cmd, fifo, lock) -> int:
    """Run the search with the device held (see HELD); SIGKILL it when a timing run says it is held: an
    event, not a guess. (Polling results.csv with sleeps, a loaded machine could let the search finish,
    or a 200 s deadline pass, before the test looked: it failed 1 run in 5.) Ends early if the search does."""
    import fcntl
    import select

    with open(lock) as device:
        fcntl.flock(device, fcntl.LOCK_EX)
        said = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # Linux: not readable until a writer has written
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while proc.poll() is None and not select.select([said], [], [], 1.0)[0]:
                pass
        finally:
            os.close(said)
            proc.send_signal(signal.SIGKILL)
            proc.wait(60)
            os.unlink(fifo)  # the runs after this one are not held
    return proc.returncode


@pytest.mark.slow
@pytest.mark.skipif(SSHD is None, reason="OpenSSH is not installed")
def test_a_device_search_resumes_after_sigkill_and_an_unreachable_device_keeps_the_study(tmp_path, sshd):  # noqa: F811
    """SIGKILL after the first batch: the rerun keeps every finished trial's measured figures (a new
    measurement would differ). Then the device goes away mid-search: one line, the study kept."""
    config = tmp_path / "ssh_config"
    alias = (f"Host archc-dev\n  HostName 127.0.0.1\n  Port {{port}}\n  User {sshd['dest'].split('@')[0]}\n"
             + sshd["config"].read_text())
    config.write_text(alias.format(port=sshd["port"]))
    space = _space(tmp_path, NET_SPACE.replace("[1, 0.5]", "[1, 0.5, 0.25]").replace("3x48x48]", "3x48x48, 3x64x64]"))
    out = tmp_path / "s"  # 9 configurations, asked 4 at a time
    cmd = [sys.executable, "-m", "archc", "search", _net(tmp_path), "--space", space, "--objective", "macs:max",
           "--budget", "median_ms<=1000", "--sampler", "grid", *RUN, "--out", str(out)]
    python, fifo, lock = _held_python(tmp_path, out, 4)
    held = _host(sshd, config)[:-1] + [str(python)]  # --remote-python: the held one
    assert _kill_when_held(cmd + ["--trials", "8", *held], fifo, lock) == -signal.SIGKILL
    first = {n: t.user_attrs["row"]["median_ms"] for n, t in _complete(out).items()}
    assert len(first) == 4  # the first batch, and no more: the device was held
    done = subprocess.run(cmd + ["--trials", "8", *held], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    after = _complete(out)
    assert {n: after[n].user_attrs["row"]["median_ms"] for n in first} == first and len(after) >= 8
    config.write_text(alias.format(port=1))  # the device is gone
    gone = subprocess.run(cmd + ["--trials", "9", *held], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert gone.returncode == 2 and gone.stderr.count("\n") == 1 and "archc-dev" in gone.stderr, gone.stderr
    assert {n for n in _complete(out)} >= set(after) and _rows(out) >= len(after)
