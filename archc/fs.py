"""Atomic output directories: everything is written to a hidden temporary
directory beside the target and moved into place only when all of it succeeded."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from archc.errors import ArchcError

MARKER = ".archc-build"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(path: Path, mode: int) -> None:
    """mkstemp/mkdtemp make private files; outputs get the user's usual permissions."""
    os.chmod(path, mode & ~_umask())


def _parent(target: Path) -> Path:
    """The folder an output goes into, made if missing (`-o out/run1/g.mmd` on a fresh clone)."""
    parent = target.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchcError(f"{target}: cannot make the folder {parent} ({exc.strerror})") from None
    return parent


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, force: bool = False):
    """Yield a temporary directory; on success its files replace those in `target`."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ArchcError(f"--out {target}: exists and is not a directory; choose another path")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).exists() and not force:
        raise ArchcError(f"--out {target}: directory exists and was not written by archc; "
                         f"choose a new directory or pass --force")
    parent = _parent(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    try:
        yield tmp
        (tmp / MARKER).write_text("written by archc build\n")
        _publish(tmp, 0o777)
        for item in tmp.iterdir():
            _publish(item, 0o777 if item.is_dir() else 0o666)
        if not target.exists():
            os.replace(tmp, target)
            return
        for item in tmp.iterdir():
            os.replace(item, target / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike):
    """Yield a temporary path beside `target`; it becomes `target` only if the block succeeds."""
    target = Path(target)
    if target.is_dir():
        raise ArchcError(f"{target}: is a directory; give a file name")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=_parent(target))
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _publish(tmp, 0o666)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
