"""Executors: the same sweep on the local pool and on a real 2-CPU Ray cluster (started by
ray.init(), and by `ray start --head` for the address form), a Ray worker killed mid-task, and a
task that fails twice reported as failed. Ray starts slowly on a loaded machine: one cluster here."""
import csv
import glob
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import archc.sweep.executors as ex
from archc.errors import ArchcError
from archc.search.run import SearchRequest, run_search
from archc.sweep.sweep import Sweep, write_results

ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parent.parent
GRID = {"width": ["1", "0.5", "0.25"], "repeat": ["3", "1"], "input": ["3x512x512", "3x256x256", "3x128x128"]}


@pytest.fixture(scope="module")
def cluster():
    ex.RayExecutor(workers=2).connect()  # ray.init(num_cpus=2, include_dashboard=False)
    yield ex.RayExecutor(workers=2)
    ray.shutdown()


def _timeless(path: Path) -> list:
    return [{k: v for k, v in row.items() if k not in ("median_ms", "fps")} for row in csv.DictReader(path.open())]


def _kill_first_task(killed: list, stop: threading.Event) -> None:
    """SIGKILL the first Ray worker seen running one of our tasks (process title `ray::_call`)."""
    while not stop.is_set() and not killed:
        for f in glob.glob("/proc/[0-9]*/cmdline"):
            try:
                title = open(f, "rb").read().split(b"\0")[0]
            except OSError:
                continue
            if title.startswith(b"ray::_call"):
                os.kill(int(f.split("/")[2]), signal.SIGKILL)
                killed.append(f)
                return
        time.sleep(0.002)


def _raises(job):
    Path(job).open("a").write("try\n")
    raise RuntimeError("broken on purpose")


def _user_error(job):
    raise ArchcError(f"bad value {job}")


def test_a_task_that_fails_twice_is_reported_not_raised(cluster, tmp_path):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
    marker = tmp_path / "tries"
    assert list(cluster.map(_raises, [str(marker)])) == [ex.Failed("RuntimeError: broken on purpose")]
    assert marker.read_text() == "try\ntry\n"  # retried once
    with pytest.raises(ArchcError, match="bad value 3"):
        list(cluster.map(_user_error, [3]))
    local = ex.LocalExecutor(1)
    assert list(local.map(_raises, [str(tmp_path / "local")])) == [ex.Failed("RuntimeError: broken on purpose")]


def test_a_search_on_ray_gives_the_local_results(cluster, tmp_path):
    (tmp_path / "space.yaml").write_text("choices:\n  width: [0.5, 0.25, 0.125]\n  expand@gfe: [6, 4, 2]\n"
                                         "  drop: [none, ppm]\n")
    rows = {}
    for name, executor in (("local", None), ("ray", cluster)):
        req = SearchRequest("specs/fastscnn.yaml", str(tmp_path / "space.yaml"), ["macs:max"], ["params<=40000"],
                            sampler="tpe", trials=8, seed=3, storage="memory", executor=executor, build=False)
        rows[name] = run_search(req, tmp_path / name).rows
    assert rows["ray"] == rows["local"] and len({r["config"] for r in rows["ray"]}) == 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sweep_joins_a_cluster_started_with_ray_start(tmp_path):
    # token authentication (Ray 2.60's default) is off for this loopback-only test cluster
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", f"--port={port}",
                             "--num-cpus=2", "--include-dashboard=false", "--block"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        cmd = [sys.executable, "-m", "archc", "sweep", "specs/fastscnn.yaml", "-g", "width=0.5,0.25",
               "-g", "input=3x256x256,3x128x128", "--executor", "ray", "--address", f"127.0.0.1:{port}",
               "--out", str(tmp_path / "ray")]
        for _ in range(10):  # the head takes a while to listen
            done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            if "no Ray cluster there" not in done.stderr:
                break
            time.sleep(3)
        assert done.returncode == 0, done.stderr
        local = subprocess.run(cmd[:-6] + ["--out", str(tmp_path / "local")], cwd=ROOT, capture_output=True,
                               text=True, timeout=300)
        assert local.returncode == 0, local.stderr
        assert _timeless(tmp_path / "ray" / "results.csv") == _timeless(tmp_path / "local" / "results.csv")
    finally:  # the head, its GCS, raylet and workers share the head's process group
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(15)


def test_missing_ray_is_a_one_line_refusal(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ArchcError, match=r'pip install "archc\[ray\]"'):
        list(ex.RayExecutor().map(len, [[1]]))
    with pytest.raises(ArchcError, match="needs --executor ray"):
        ex.executor("local", "auto")


# Last in the file: its killer may SIGKILL a worker whose title still reads ray::_call just after the
# sweep ends, and a task that lands on that worker dies of a system error, which spends Ray's retry
# (the retry-once test before it would then see one try instead of two).
def test_a_sweep_on_ray_matches_the_local_pool_and_survives_a_killed_worker(cluster, tmp_path):
    write_results(Sweep("specs/fastscnn.yaml", GRID, jobs=2).run(), tmp_path)
    killed, stop = [], threading.Event()
    killer = threading.Thread(target=_kill_first_task, args=(killed, stop))
    killer.start()
    try:
        results = Sweep("specs/fastscnn.yaml", GRID, executor=cluster).run()
    finally:
        stop.set()
        killer.join()
    (tmp_path / "ray").mkdir()
    write_results(results, tmp_path / "ray")
    assert killed, "no Ray worker was seen running a task"
    assert _timeless(tmp_path / "ray" / "results.csv") == _timeless(tmp_path / "results.csv")
