"""Several `archc search` processes on one study (a SQLite file): a second process is refused in one line
unless it joins explicitly (`--join`), and joined processes neither fail each other's running trials nor
evaluate a configuration another one has finished or is evaluating.

The seat file `.<db name>.archc-study` beside the database holds the pids of the processes on the study.
Each holds a POSIX lock on the byte at its pid for its whole life (released when it ends, even by SIGKILL),
so a pid in the file whose byte is unlocked is a dead process. Byte 0 is the study's mutex: joining,
failing a dead process's trials, and asking a batch (ask, suggest, drop the configurations already
taken, tag each trial with its pid) happen under it, so no other process sees a half-asked trial.

    with Seat.of("sqlite:///runs/s/study.db", join=False) as seat:
        with seat.mutex():
            ...
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

from archc.errors import ArchcError

BUSY = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


def sqlite_file(storage: str | None) -> Path | None:
    """The database file of a sqlite URL; None for no storage or an in-memory database. Any other URL is
    refused: archc can see the other processes on a study only in a SQLite file on this machine."""
    if storage is None:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(storage)
    except (ArgumentError, ValueError):
        raise ArchcError(f"--storage {storage}: not a database URL; give sqlite:///PATH (e.g. "
                         f"sqlite:///runs/study.db)") from None
    if url.get_backend_name() != "sqlite":
        raise ArchcError(f"--storage {storage}: archc shares a study only through a SQLite file (sqlite:///PATH), "
                         f"where it can see the other processes on it; give sqlite:///PATH")
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


class Seat:
    """This process's place at a study; a no-op without a SQLite file (nothing can share it)."""

    def __init__(self, db: Path | None, join: bool, storage: str = ""):
        self.db, self.join, self.storage, self.fd = db, join, storage, None

    @classmethod
    def of(cls, storage: str | None, join: bool) -> Seat:
        return cls(sqlite_file(storage), join, storage or "")

    def __enter__(self) -> Seat:
        if self.db is None:
            return self
        path = self.db.parent / f".{self.db.name}.archc-study"
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ArchcError(f"--storage {self.storage}: cannot open {path}: {exc.strerror}; "
                             f"check that the database's folder exists and is writable") from None
        with self.mutex():
            others = [p for p in self._pids() if self.other(p)]
            if not others or self.join:
                fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, os.getpid())
                self._write(others + [os.getpid()])
        if others and not self.join:
            self.__exit__()
            raise ArchcError(f"{self.storage}: another archc search (pid {others[0]}) is running this study; pass "
                             f"--join to work on it together (each process with its own --out), or wait for it "
                             f"to end")
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases every lock this process holds on the file
            self.fd = None

    @contextlib.contextmanager
    def mutex(self):
        if self.fd is None:
            yield
            return
        fcntl.lockf(self.fd, fcntl.LOCK_EX, 1, 0)
        try:
            yield
        finally:
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, 0)

    def other(self, pid) -> bool:
        """Whether `pid` is another process that holds its seat now (never this one, nor anyone without a file)."""
        if self.fd is None or not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
            return False
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, pid)
        except OSError as exc:
            if exc.errno in BUSY:
                return True
            raise
        fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, pid)
        return False

    def shared(self) -> bool:
        """Whether another live process is on the study now (read under the mutex)."""
        return any(self.other(p) for p in self._pids()) if self.fd is not None else False

    def _pids(self) -> list:
        data = os.pread(self.fd, 1 << 16, 0).decode("ascii", "replace")
        return [int(w) for w in data.split() if w.isdigit()]

    def _write(self, pids: list) -> None:
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, "".join(f"{p}\n" for p in pids).encode(), 0)
