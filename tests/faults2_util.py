"""Shared by tests/test_faults2_*.py (issue 28): a tiny 3x64x64 net, a tiny synthetic set, the CLI in
process, and a folder's fingerprint (every file's bytes), so a test can show nothing of a user's changed."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from typer.testing import CliRunner

from archc.cli import app
from tinyspec import tiny_spec

ROOT = Path(__file__).resolve().parent.parent
TINY = tiny_spec(64, 64)
USER_FILES = {"notes.txt": b"my notes\n", "weights.pt": b"my own weights", "metrics.json": b'{"mine": 1}\n',
              "model.onnx": b"not archc's", "results.csv": b"a,b\n1,2\n", "spec.yaml": b"name: mine\n",
              "front.csv": b"x\n", "checkpoint.pt": b"mine too"}
runner = CliRunner()


def invoke(*args):
    """The CLI in this process: (exit code, stderr lines that are not progress or notes, all output)."""
    result = runner.invoke(app, [str(a) for a in args])
    errors = [line for line in result.stderr.splitlines()
              if line.startswith("archc: error") or line.startswith("archc: internal")]
    return result.exit_code, errors, result.output


def fingerprint(folder: Path) -> dict:
    """{relative path: sha256} of every file under `folder` (symbolic links by their target)."""
    folder = Path(folder)
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def user_folder(path: Path) -> dict:
    """A folder of a user's files, named like archc's outputs; returns its fingerprint."""
    path.mkdir(parents=True, exist_ok=True)
    for name, data in USER_FILES.items():
        (path / name).write_bytes(data)
    return fingerprint(path)


def kept(before: dict, folder: Path) -> bool:
    """Every file the user had is still there, byte for byte (archc may have added its own)."""
    after = fingerprint(folder)
    return all(after.get(k) == v for k, v in before.items())


def one_error(code: int, errors: list, words: str) -> bool:
    return code == 2 and len(errors) == 1 and words in errors[0]


def tiny_setup(root: Path, images: int = 12, size=(64, 64)) -> tuple:
    """(spec path, data folder)."""
    from archc.train.synth import synthesize

    root.mkdir(parents=True, exist_ok=True)
    (root / "tiny.yaml").write_text(TINY)
    if not (root / "data").exists():
        synthesize(root / "data", 3, images, size, seed=1)
    return root / "tiny.yaml", root / "data"


def unshare_ok() -> bool:
    """Whether `unshare -rm` works here (user and mount namespaces): the full- and read-only-disk tests need it."""
    import subprocess

    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
