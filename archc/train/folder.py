"""Folders a run writes into as it goes (train's RUN, search's OUT): claimed through the build's manifest
(archc.fs.claim_dir), so a folder holding a user's files is refused and archc only ever replaces its own
files there, and locked for the run's whole life, so that a second process on the same folder refuses in
one line instead of interleaving its files with the first one's.

    with run_folder("runs/a", RUN_FILES, "--out"):
        ...  # write checkpoint.pt, weights.pt, metrics.json
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
from pathlib import Path

from archc.errors import ArchcError
from archc.fs import MARKER, claim_dir, guard

LOCK = ".archc-lock"  # held (flock) by the process running in the folder; holds its pid
RUN_FILES = ("checkpoint.pt", "weights.pt", "metrics.json", "spec.yaml", "grouped",
             "model.onnx", "model.int8.onnx")  # the int8 export of a --qat run


@contextlib.contextmanager
def run_folder(target, names, flag: str = "--out"):
    """Refuse a folder of someone else's files (nothing written there), then lock, then claim `target` for
    `names` under the lock (so two processes starting at once cannot mistake each other's manifest, still
    being written, for a user's file)."""
    refuse_foreign(target, flag)
    path = Path(target)
    if path.is_symlink() and not path.exists():
        raise ArchcError(f"{flag} {target}: a symbolic link to {os.readlink(path)}, which does not exist; create "
                         f"that or choose another {flag}")
    if path.exists() and not path.is_dir():
        raise ArchcError(f"{flag} {target}: exists and is not a directory; choose another path")
    with guard(path, "create"):
        path.mkdir(parents=True, exist_ok=True)
    with locked(path, flag):
        yield claim_dir(target, tuple(n for n in names if n != LOCK), force=True, flag=flag)


@contextlib.contextmanager
def locked(folder: Path, flag: str = "--out"):
    """An exclusive lock on `folder` for this process (released when it ends, even by SIGKILL)."""
    path = Path(folder) / LOCK
    with guard(path, "lock"):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise ArchcError(f"{flag} {folder}: another archc process{_holder(fd)} is running in this folder; "
                             f"wait for it to end or choose another {flag}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip())
        return f" (pid {pid})"
    return ""


def refuse_foreign(target, flag: str = "--out") -> None:
    """For commands without --force: a folder holding anything archc did not write is not theirs to use."""
    path = Path(target)
    if path.is_dir() and not is_run(path) and any(not _ours(e.name) for e in os.scandir(path)):
        raise ArchcError(f"{flag} {target}: directory exists and holds files archc did not write; choose a new "
                         f"or empty directory")


def _ours(name: str) -> bool:
    """archc's lock, a study's seat file (archc.search.shared), or a temporary of a running archc
    (`.<name>.<pid>.<random>.tmp`, see archc.fs)."""
    if name == LOCK or name.endswith(".archc-study"):
        return True
    return re.fullmatch(r"\..+\.\d+\.[A-Za-z0-9_]+\.tmp", name) is not None


def is_run(folder) -> bool:
    """Whether `folder` is a folder archc wrote (its manifest is there)."""
    return (Path(folder) / MARKER).is_file()
