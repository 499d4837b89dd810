"""Output folders as transactions. The whole new output is written into a hidden temporary
folder beside the target, then swapped in with renames (SIGINT and SIGTERM held for those
few microseconds). A manifest in the folder lists what archc wrote there: only those files
are ever replaced or removed, so a user's own files beside them survive every rebuild.

    with atomic_dir("out") as tmp:      # archc build --out out
        (tmp / "model.onnx").write_bytes(...)

Temporaries are named `.<target>.<pid>.<random>.tmp`; one whose process is gone (a run
killed with SIGKILL) is removed by the next run that writes beside it.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from archc.errors import ArchcError, check_stopped

MARKER = ".archc-build"  # the manifest: {"written_by": "archc", "files": [names]}
OWNER = ".archc-tmp"  # inside each temporary folder: archc made it, so archc may remove it
HINTS = {errno.EROFS: "the file system is read-only; choose another --out",
         errno.EACCES: "permission denied; choose a folder you can write to",
         errno.EPERM: "not permitted; choose a folder you can write to",
         errno.ENOSPC: "no space left on the device; free some or choose another disk",
         errno.EDQUOT: "the disk quota is exceeded; free some space or choose another disk",
         errno.ENOTDIR: "a part of the path is a file, not a folder",
         errno.EISDIR: "it is a folder, not a file", errno.ENOENT: "no such file or folder"}


def os_error(path, exc: OSError, doing: str = "write") -> ArchcError:
    """One line for an OSError at a file boundary: the path, the cause and what would fix it."""
    cause = exc.strerror or str(exc)
    hint = HINTS.get(exc.errno, "")
    return ArchcError(f"{path}: cannot {doing}: {cause}" + (f" ({hint})" if hint and hint.lower() != cause.lower()
                                                           else ""))


@contextlib.contextmanager
def guard(path, doing: str = "write"):
    """Turn an OSError raised inside the block into a user error naming `path`."""
    try:
        yield
    except OSError as exc:
        raise os_error(path, exc, doing) from None


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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_stale(folder: Path, name: str = "") -> None:
    """Remove `.<name>.<pid>.<random>.tmp` temporaries (any name if "") of archc runs that no longer exist."""
    pattern = re.compile(rf"\.{re.escape(name) if name else '[^/]+?'}\.(\d+)\.[A-Za-z0-9_]+\.tmp")
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = pattern.fullmatch(entry.name)
            if not m or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if (path / OWNER).is_file() or not any(path.iterdir()):
                    shutil.rmtree(path, ignore_errors=True)
            elif entry.is_file(follow_symlinks=False):
                path.unlink(missing_ok=True)


def _mkdtemp(parent: Path, name: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=parent))
    (tmp / OWNER).write_text("a temporary folder of archc; removed when its run ends\n")
    return tmp


@contextlib.contextmanager
def temp_dir(name: str, parent: str | os.PathLike | None = None):
    """A scratch folder `.<name>.<pid>.<random>.tmp` (in the system's temporary folder by default),
    removed at the end; one left by a run killed with SIGKILL is removed by the next."""
    parent = Path(parent or tempfile.gettempdir())
    clean_stale(parent, name)
    with guard(parent, "create a temporary folder in"):
        tmp = _mkdtemp(parent, name)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _real(target: Path, flag: str) -> Path:
    """The path to write: a symbolic link's destination; refused when it dangles or the parent is missing."""
    if target.is_symlink() and not target.exists():
        raise ArchcError(f"{flag} {target}: a symbolic link to {os.readlink(target)}, which does not exist; "
                         f"create that or choose another {flag}")
    real = target.resolve()
    if real.exists() and not real.is_dir():
        raise ArchcError(f"{flag} {target}: exists and is not a directory; choose another path")
    _parent(real)
    return real


def owned(folder: Path, names, force: bool, flag: str = "--out") -> set:
    """The names in `folder` archc wrote (its manifest); refuse a folder archc did not make unless
    `force`, and refuse to replace any of `names` that is not archc's."""
    mine = _manifest(folder, names)
    present = set(os.listdir(folder)) if folder.is_dir() else set()
    if mine is None and present and not force:
        raise ArchcError(f"{flag} {folder}: directory exists and was not written by archc; "
                         f"choose a new directory or pass --force")
    mine = (mine or set()) | {MARKER} if mine is not None or MARKER not in present else set()
    clash = sorted(n for n in names if n in present and n not in mine)
    if clash:
        raise ArchcError(f"{flag} {folder}: {clash[0]} is there and archc did not write it; --force writes "
                         f"beside a folder's files, never over them: move it or choose another {flag}")
    return mine | {MARKER}


def _manifest(folder: Path, names) -> set | None:
    """What the manifest lists; None without one. An older archc's plain-text marker owns `names`."""
    path = folder / MARKER
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            data = json.loads(f.read(1 << 20))
    except (OSError, ValueError):
        return set(names)
    files = data.get("files") if isinstance(data, dict) else None
    return {f for f in files if isinstance(f, str) and "/" not in f} if isinstance(files, list) else set(names)


def _write_manifest(folder: Path, files) -> None:
    body = {"written_by": "archc", "files": sorted(set(files) - {MARKER, OWNER})}
    (folder / MARKER).write_text(json.dumps(body, indent=1) + "\n")
    _publish(folder / MARKER, 0o666)


@contextlib.contextmanager
def held_signals():
    """SIGINT and SIGTERM wait until the block is done (the renames of a swap)."""
    main = threading.current_thread() is threading.main_thread() and hasattr(signal, "pthread_sigmask")
    if main:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        if main:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, force: bool = False, flag: str = "--out"):
    """Yield a temporary directory; on success its files replace archc's files in `target`."""
    shown = Path(target)
    real = _real(shown, flag)
    if real.is_dir():
        owned(real, (), force, flag)  # cheap: refuse before any work
    clean_stale(real.parent, real.name)
    with guard(real.parent, "create a temporary folder in"):
        tmp = _mkdtemp(real.parent, real.name)
    try:
        with guard(shown):
            yield tmp
            _write_manifest(tmp, os.listdir(tmp))
            _publish(tmp, 0o777)
            for item in tmp.iterdir():
                _publish(item, 0o777 if item.is_dir() else 0o666)
            with held_signals():
                check_stopped()  # a SIGINT some library swallowed still stops the swap
                _swap(tmp, real, force, flag)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap(tmp: Path, target: Path, force: bool, flag: str) -> None:
    """Rename `tmp` to `target`, or move its files in over archc's old ones (ownership rechecked now:
    the folder may have appeared or changed while the output was written)."""
    if not target.exists():
        try:
            (tmp / OWNER).unlink()
            os.rename(tmp, target)  # replaces nothing but an empty folder made meanwhile
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    new = [n for n in os.listdir(tmp) if n not in (MARKER, OWNER)] + [MARKER]
    mine = owned(target, new, force, flag)
    old = [n for n in os.listdir(target) if n in mine]
    backup = _mkdtemp(target.parent, target.name)
    moved, placed = [], []
    try:
        for n in old:
            os.rename(target / n, backup / n)
            moved.append(n)
        for n in new:
            os.rename(tmp / n, target / n)
            placed.append(n)
    except OSError:
        for n in placed:  # roll back: the old output, whole
            os.rename(target / n, tmp / n)
        for n in moved:
            os.rename(backup / n, target / n)
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)


def claim_dir(target: str | os.PathLike, names, force: bool = False, flag: str = "--out") -> Path:
    """Make `target` an archc output folder for `names` (what archc writes there), refusing to
    take over a folder or file archc did not write; the folder keeps everything else in it."""
    real = _real(Path(target), flag)
    with guard(target):
        real.mkdir(exist_ok=True)
        mine = owned(real, names, force, flag)
        with atomic_file(real / MARKER) as tmp:
            body = {"written_by": "archc", "files": sorted((mine | set(names)) - {MARKER})}
            tmp.write_text(json.dumps(body, indent=1) + "\n")
    return real


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike):
    """Yield a temporary path beside `target`; it becomes `target` only if the block succeeds."""
    target = Path(target)
    if target.is_dir():
        raise ArchcError(f"{target}: is a directory; give a file name")
    folder = _parent(target)
    clean_stale(folder, target.name)
    with guard(target):
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
        os.close(fd)
    tmp = Path(name)
    try:
        with guard(target):
            yield tmp
            _publish(tmp, 0o666)
            check_stopped()
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
