"""Remote profiling against a real sshd on localhost: started by the test on a free port, with a
host key and a client key made here, nothing mocked. Each way a device can fail is one line."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SPEC_DIR
from typer.testing import CliRunner

from archc.cli import app

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(SSHD is None or shutil.which("ssh") is None,
                                 reason="OpenSSH (sshd and ssh) is not installed; .ci/run installs it")]
runner = CliRunner()
RUN = ["--runs", "3", "--warmup", "1"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A real sshd on 127.0.0.1:<free port> accepting one key made here; yields what a client needs."""
    d = tmp_path_factory.mktemp("sshd")
    host_key, client = _keygen(d / "host_key"), _keygen(d / "client_key")
    shutil.copyfile(d / "client_key.pub", d / "authorized_keys")
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nAuthorizedKeysFile {d}/authorized_keys\n"
        f"StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        f"PermitRootLogin prohibit-password\nPidFile {d}/sshd.pid\n")
    (d / "ssh_config").write_text(f"Host *\n  UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking accept-new\n"
                                  f"  LogLevel ERROR\n")
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation folder (Debian makes it at boot)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stderr=subprocess.PIPE, text=True)
    _wait_for(port, proc)
    user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    yield {"dest": f"{user}@127.0.0.1:{port}", "port": port, "key": client, "config": d / "ssh_config", "dir": d}
    proc.terminate()
    proc.wait(10)


def _wait_for(port: int, proc) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            pytest.fail(f"sshd did not start: {proc.stderr.read()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail("sshd did not listen within 5 s")


@pytest.fixture(scope="module")
def model(small_build):
    """The suite's small Fast-SCNN build (width 0.25, 128x128), nodes named by spec path."""
    return small_build[1] / "model.onnx"


def _ssh_args(sshd, **over) -> list:
    opts = {"--host": sshd["dest"], "--identity": str(sshd["key"]), "--ssh-config": str(sshd["config"]),
            "--remote-python": sys.executable, **over}
    return [x for k, v in opts.items() if v is not None for x in (k, v)]


def _profile(model, sshd, *extra, **over):
    return runner.invoke(app, ["profile", str(model), *RUN, "--json", *extra, *_ssh_args(sshd, **over)])


def test_remote_profile_returns_the_contract_and_the_device(model, sshd):
    import onnxruntime

    result = _profile(model, sshd, "--threads", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["runtime"] == "onnxruntime" and data["runs"] == 3 and data["input"] == [3, 128, 128]
    assert 0 < data["median_ms"] <= data["p90_ms"] and data["threads"] == 2
    device = data["device"]
    assert device["host"] == sshd["dest"] and device["onnxruntime"] == onnxruntime.__version__
    assert device["threads"] == 2 and device["cpu"] and device["python"]


def test_remote_per_layer_maps_the_device_profile_to_spec_paths(model, sshd):
    result = _profile(model, sshd, "--per-layer")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = {l["name"] for l in data["layers"]}
    assert {"ltd.0.0.conv", "gfe.0.0.depthwise.conv", "classifier.0.0.pointwise.conv"} <= names
    assert data["unattributed_ms"] == 0 and data["node_sum_ms"] > 0
    assert sum(l["share"] for l in data["layers"]) == pytest.approx(1, abs=0.01)


def _fails(result, *needles) -> str:
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith("archc: error:"), line
    for needle in needles:
        assert needle in line, line
    print(line)  # docs/latency.md quotes these lines
    return line


def test_host_unreachable(model, sshd):
    dest = f"root@127.0.0.1:{_free_port()}"  # nothing listens there
    _fails(_profile(model, sshd, **{"--host": dest}), dest, "host unreachable", "Connection refused")


def test_auth_refused(model, sshd, tmp_path):
    _fails(_profile(model, sshd, **{"--identity": str(_keygen(tmp_path / "stranger"))}),
           "refused the login", "Permission denied", "--identity")


def test_no_python_on_the_device(model, sshd):
    _fails(_profile(model, sshd, **{"--remote-python": "/nonexistent/python3"}),
           "no Python at '/nonexistent/python3'", "--remote-python")


def test_no_onnxruntime_on_the_device(model, sshd, tmp_path):
    bare = tmp_path / "bare"  # a Python of its own, without this venv's packages
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = str(bare / "bin" / "python")
    _fails(_profile(model, sshd, **{"--remote-python": python}), "has no onnxruntime", "pip install onnxruntime")


def test_a_device_run_that_crashes(model, sshd, tmp_path):
    crash = tmp_path / "python-that-crashes"  # a device interpreter that dies of a segfault mid-run
    crash.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import ctypes; ctypes.string_at(0)' \"$@\"\n")
    crash.chmod(0o755)
    _fails(_profile(model, sshd, **{"--remote-python": str(crash)}), "crashed", "SIGSEGV")


def test_ssh_options_need_a_host(model):
    result = runner.invoke(app, ["profile", str(model), "--identity", str(model)])
    _fails(result, "--identity only apply with --host")


def test_build_profile_on_the_device(sshd, tmp_path):
    args = ["build", str(SPEC_DIR / "fastscnn.yaml"), "--pass", "width=0.125", "--input", "3x64x64", "--profile",
            *RUN, "--out", str(tmp_path / "out"), *_ssh_args(sshd)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [p["device"]["host"] for p in summary["profile"]] == [sshd["dest"]]


def test_sweep_profile_on_the_device(sshd, tmp_path):
    """Two configurations exported here, timed on the device one after the other: each result row
    (JSON, results.json and results.csv) says which device timed it, and the figures are its."""
    import csv

    import onnxruntime

    out = tmp_path / "sweep"
    args = ["sweep", str(SPEC_DIR / "fastscnn.yaml"), "--grid", "width=0.125,0.25", "--input", "3x64x64",
            "--profile", *RUN, "--jobs", "1", "--out", str(out), "--json", *_ssh_args(sshd)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["config"] for r in rows] == ["width=0.125", "width=0.25"] and all(r["status"] == "ok" for r in rows)
    for r in rows:
        assert r["median_ms"] > 0 and r["fps"] == pytest.approx(1e3 / r["median_ms"], rel=0.01)
        device = r["device"]
        assert device["host"] == sshd["dest"] and device["onnxruntime"] == onnxruntime.__version__
        assert device["threads"] == 1 and device["cpu"] and device["python"]
    assert [r["device"] for r in json.loads((out / "results.json").read_text())] == [r["device"] for r in rows]
    with (out / "results.csv").open() as f:
        assert [json.loads(r["device"])["host"] for r in csv.DictReader(f)] == [sshd["dest"]] * 2
    again = runner.invoke(app, args)  # from the cache: the device comes back with the figures
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == rows
