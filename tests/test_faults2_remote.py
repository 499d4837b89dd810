"""Issue 28, the device over SSH (a real sshd on localhost, tests/test_remote.py's): the device is reached before
any export, an interrupted `profile --host` leaves no timing process on the device, and a runner whose Python
prints JSON that is not a result is one line."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from faults2_util import ROOT, invoke, one_error
from test_remote import SSHD, _free_port, _ssh_args, sshd  # noqa: F401 - sshd is the fixture

pytestmark = pytest.mark.skipif(SSHD is None, reason="OpenSSH's sshd is not installed")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A one-node ONNX model (3x1024x1024 in: about a millisecond a run, so a long timing stays busy)."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 1024, 1024])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 1024, 1024])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
    path = tmp_path_factory.mktemp("m") / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_nothing_listening_fails_before_the_export(sshd, monkeypatch):  # noqa: F811
    import torch.onnx

    exported = []  # the event itself, whatever the machine's speed: torch.onnx.export is never called
    monkeypatch.setattr(torch.onnx, "export", lambda *args, **kwargs: exported.append(args) or 1 / 0)
    dest = f"root@127.0.0.1:{_free_port()}"
    start = time.process_time()
    code, errors, text = invoke("profile", "specs/fastscnn.yaml", *_ssh_args(sshd, **{"--host": dest}))
    assert one_error(code, errors, "host unreachable"), text
    assert exported == []
    # ssh's own answer, not after exporting Fast-SCNN: the export alone costs this process about 6 s of CPU
    # (measured quiet), ssh's refusal almost none; CPU time, which a loaded machine barely inflates
    assert time.process_time() - start < 3


def test_a_runner_printing_other_json_is_one_line(sshd, model, tmp_path):  # noqa: F811
    fake = tmp_path / "python-json"
    fake.write_text('#!/bin/sh\necho \'{"hello": "world"}\'\n')
    fake.chmod(0o755)
    code, errors, text = invoke("profile", model, "--runs", 3, *_ssh_args(sshd, **{"--remote-python": str(fake)}))
    assert one_error(code, errors, "not a timing result"), text


def _runners(marker: str) -> list:
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    return [p for p in found if int(p) != os.getpid()]


def test_ctrl_c_during_profile_host_ends_the_timing_on_the_device(sshd, model):  # noqa: F811
    runs = "987651"  # marks this test's runner among the device's processes
    args = [sys.executable, "-m", "archc", "profile", str(model), "--runs", runs, "--warmup", "1",
            *_ssh_args(sshd)]
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    marker = f"^[^ ]*python[^ ]* [^ ]*/runner.py .*--runs {runs}"  # the device's Python, not ssh's or sh's line
    deadline = time.time() + 60
    while not _runners(marker) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert _runners(marker), proc.communicate(timeout=30)
    time.sleep(1)  # inside its timing loop
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    deadline = time.time() + 15
    while _runners(marker) and time.time() < deadline:
        time.sleep(0.2)
    left = _runners(marker)
    for pid in left:  # not to leave it running for the rest of the suite
        os.kill(int(pid), signal.SIGKILL)
    assert not left, "the timing process outlived the interrupted SSH session"
