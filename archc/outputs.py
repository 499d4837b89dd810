"""Atomic output directories: everything is written to a hidden temporary
directory beside the target and moved into place only when all of it succeeded."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import ArchcError

MARKER = ".archc-build"


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, force: bool = False):
    """Yield a temporary directory; on success its files replace those in `target`."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ArchcError(f"--out {target}: exists and is not a directory; choose another path")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).exists() and not force:
        raise ArchcError(f"--out {target}: directory exists and was not written by archc; "
                         f"choose a new directory or pass --force")
    parent = target.resolve().parent
    if not parent.exists():
        raise ArchcError(f"--out {target}: parent directory {parent} does not exist")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    try:
        yield tmp
        (tmp / MARKER).write_text("written by archc build\n")
        if not target.exists():
            os.replace(tmp, target)
            return
        for item in tmp.iterdir():
            os.replace(item, target / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
