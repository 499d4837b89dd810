"""Timing on a device over SSH with the system's ssh client: copy the model and the
self-contained runner (archc/measure/runner.py) into a fresh folder on the device, run it
with the device's Python, read back its one JSON line (and, per layer, its profile),
remove the folder. Files travel through ssh's stdin/stdout (`cat`), so the device needs
no SFTP server or scp; only sshd, a POSIX shell, Python 3 and onnxruntime.

    archc profile specs/fastscnn.yaml --host pi@raspberrypi.local --identity ~/.ssh/pi
    archc profile model.onnx --host pi@10.0.0.7:2222 --ssh-config ~/.ssh/config --remote-python /opt/venv/bin/python

Every way it can fail is one line naming the host and the fix: unreachable, key
refused, no Python, no onnxruntime, a run that crashes.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from archc.errors import ExportError
from archc.measure import runner
from archc.measure.timing import Timing

TIMEOUT_S = 900  # a whole remote run; connecting has its own ConnectTimeout
HOST_RE = re.compile(r"^(?:(?P<user>[^@\s:]+)@)?(?P<host>[^@\s:]+)(?::(?P<port>\d+))?$")


@dataclass(frozen=True)
class Host:
    """Where to time: `[USER@]HOST[:PORT]` and how to log in (keys, aliases, interpreter)."""

    host: str
    user: str | None = None
    port: int | None = None
    identity: Path | None = None
    ssh_config: Path | None = None
    python: str = "python3"
    control: str | None = None  # one shared connection for the few commands of a run (ssh ControlMaster)

    @classmethod
    def parse(cls, text: str, identity=None, ssh_config=None, python: str | None = None) -> "Host":
        m = HOST_RE.match(text.strip())
        if not m:
            raise ExportError(f"--host {text}: expected [USER@]HOST[:PORT], e.g. --host pi@raspberrypi.local:22")
        for flag, path in (("--identity", identity), ("--ssh-config", ssh_config)):
            if path is not None and not Path(path).is_file():
                raise ExportError(f"{flag} {path}: no such file")
        return cls(m["host"], m["user"], int(m["port"]) if m["port"] else None, identity and Path(identity),
                   ssh_config and Path(ssh_config), python or "python3")

    @property
    def dest(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def __str__(self) -> str:
        return self.dest + (f":{self.port}" if self.port else "")

    def options(self) -> list[str]:
        """No prompts (a refused key fails instead of asking), keys, config, port."""
        opts = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
        opts += ["-F", str(self.ssh_config)] if self.ssh_config else []
        opts += ["-i", str(self.identity), "-o", "IdentitiesOnly=yes"] if self.identity else []
        opts += ["-o", "ControlMaster=auto", "-o", f"ControlPath={self.control}", "-o", "ControlPersist=60"
                 ] if self.control else []
        return opts + (["-p", str(self.port)] if self.port else [])


def _call(args: list, host: Host, what: str, data: bytes | None = b"", timeout: float = TIMEOUT_S):
    """ssh with `data` on stdin; data None: a stdin held open until ssh ends (the runner's watchdog: it
    ends the timing process on the device when this process, and so the session, goes away)."""
    held = os.pipe() if data is None else None
    try:
        done = subprocess.run(args, capture_output=held is None, input=data, timeout=timeout,
                              **({"stdin": held[0], "stdout": subprocess.PIPE,
                                  "stderr": subprocess.PIPE} if held else {}))
    except FileNotFoundError as exc:
        raise ExportError(f"--host needs the system's {args[0]} client; install OpenSSH "
                          f"(e.g. apt-get install openssh-client)") from exc
    except subprocess.TimeoutExpired as exc:
        raise ExportError(f"{host}: {what} took over {timeout:.0f} s; is the device busy?") from exc
    finally:
        for fd in held or ():
            os.close(fd)
    done.stderr = done.stderr.decode(errors="replace")
    if done.returncode == 255:  # ssh's own failure: connecting or logging in
        raise ExportError(_ssh_failure(host, done.stderr))
    return done


def _ssh_failure(host: Host, stderr: str) -> str:
    last = _last_line(stderr)
    if "Permission denied" in stderr or "Too many authentication failures" in stderr:
        return (f"{host}: the device refused the login ({last}); give the key with --identity FILE or "
                f"check ~/.ssh/authorized_keys on the device")
    if "Host key verification failed" in stderr:
        return f"{host}: host key verification failed; add the device to known_hosts (ssh {host.dest} once)"
    return f"{host}: host unreachable ({last}); check the address and port, and that sshd runs on the device"


def _last_line(text: str) -> str:
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "no message"


def reach(host: Host) -> None:
    """Log in once and return: a device that is off or refuses the key fails here in a second, before minutes
    of export (ssh's own failures are one line, see _ssh_failure)."""
    _call(["ssh", *host.options(), host.dest, "exit 0"], host, "logging in", timeout=60)


def ssh(host: Host, command: str, what: str, data: bytes | None = b"") -> subprocess.CompletedProcess:
    """Run `command` in the device's shell (bytes in on stdin, bytes out on stdout)."""
    return _call(["ssh", *host.options(), host.dest, command], host, what, data)


def put(host: Host, local, remote_path: str) -> None:
    done = ssh(host, f"cat > {shlex.quote(remote_path)}", f"copying {Path(local).name}", Path(local).read_bytes())
    if done.returncode:
        raise ExportError(f"{host}: copying {Path(local).name} to the device failed: {_last_line(done.stderr)}")


def get(host: Host, remote_path: str, local: Path) -> None:
    done = ssh(host, f"cat {shlex.quote(remote_path)}", f"copying {remote_path} back")
    if done.returncode:
        raise ExportError(f"{host}: copying {remote_path} back failed: {_last_line(done.stderr)}")
    local.write_bytes(done.stdout)


def run(host: Host, model: Path, timing: Timing, per_layer: bool = False, fetch_to: Path | None = None) -> dict:
    """The runner's JSON from the device; with per_layer its profile and optimized graph
    are copied into `fetch_to` and the paths rewritten to the local copies."""
    with tempfile.TemporaryDirectory(prefix="archc-ssh-") as sock:
        shared = replace(host, control=f"{sock}/cm")  # log in once, not once per command
        try:
            return _run_in_folder(shared, model, timing, per_layer, fetch_to)
        finally:
            subprocess.run(["ssh", *shared.options(), "-O", "exit", host.dest], capture_output=True, timeout=30)


def _run_in_folder(host: Host, model: Path, timing: Timing, per_layer: bool, fetch_to: Path | None) -> dict:
    folder = ssh(host, "mktemp -d", "making a folder").stdout.decode(errors="replace").strip()
    if not folder.startswith("/"):
        raise ExportError(f"{host}: `mktemp -d` on the device gave {folder!r}; the device needs a POSIX shell")
    try:
        put(host, model, f"{folder}/model.onnx")
        put(host, runner.__file__, f"{folder}/runner.py")
        out = _run_runner(host, f"{folder}/model.onnx", f"{folder}/runner.py", timing, per_layer)
        if per_layer:
            for key in ("profile", "optimized"):
                get(host, out[key], fetch_to / Path(out[key]).name)
                out[key] = str(fetch_to / Path(out[key]).name)
        return out
    finally:
        ssh(host, f"rm -rf {shlex.quote(folder)}", "cleaning up")


def _run_runner(host: Host, model: str, script: str, timing: Timing, per_layer: bool) -> dict:
    cmd = [host.python, script, model, "--threads", str(timing.threads), "--warmup", str(timing.warmup),
           "--runs", str(timing.runs), "--watch-stdin"]
    # `; exit $?`: the shell reports a run killed by signal N as 128 + N (ssh itself would say 255)
    line = " ".join(map(shlex.quote, cmd + (["--per-layer"] if per_layer else []))) + "; exit $?"
    done = ssh(host, line, "the timing run", None)
    done.stdout = done.stdout.decode(errors="replace")
    if done.returncode == 127 or (done.returncode and "No such file" in done.stderr and not done.stdout):
        raise ExportError(f"{host}: no Python at '{host.python}' on the device; install python3 or give "
                          f"--remote-python PATH")
    if done.returncode == 3 and "no-onnxruntime" in done.stdout:
        raise ExportError(f"{host}: '{host.python}' on the device has no onnxruntime; install it there "
                          f"(pip install onnxruntime) or give --remote-python PATH of one that has it")
    if done.returncode == 4 and '"threads"' in done.stdout:
        raise ExportError(f"{host}: --threads {timing.threads} is more than the device's cores "
                          f"({_cores(done.stdout)}); give at most that")
    if done.returncode:
        raise ExportError(f"{host}: the run on the device crashed ({_exit(done.returncode)}): "
                          f"{_last_line(done.stderr)}")
    try:
        out = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise ExportError(f"{host}: the runner printed no result: {_last_line(done.stdout + done.stderr)}") from exc
    if not (isinstance(out, dict) and isinstance(out.get("times_ms"), list) and out["times_ms"]
            and all(isinstance(t, (int, float)) for t in out["times_ms"]) and isinstance(out.get("device"), dict)):
        raise ExportError(f"{host}: the device's Python printed JSON that is not a timing result "
                          f"({_last_line(done.stdout)[:120]}); is '{host.python}' archc's runner's Python?")
    return out


def _cores(text: str) -> str:
    try:
        return str(json.loads(text.strip().splitlines()[-1])["cores"])
    except (ValueError, KeyError, IndexError, TypeError):
        return "fewer"


def _exit(code: int) -> str:
    """ssh passes on the remote shell's status: 128 + N when signal N killed the run."""
    if code > 128:
        try:
            return f"killed by {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    return f"exit status {code}"
