"""The sweep cache: one JSON file per configuration under DIR/cache/, named by its content key and
holding it, written through a unique temporary and an atomic rename (two sweeps may share a cache),
and checked against a schema and its key on every read: a damaged, swapped or foreign entry is
recomputed, never trusted.

    {"key": "3f0c...", "result": {"config": "width=0.5", "knobs": {"width": "0.5"}, "status": "ok", ...}}
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from archc.fs import clean_stale, guard

OUTPUTS = ("results.csv", "results.json", "cache", "pareto.png", "pareto.svg")  # what sweep --out writes
FIELDS = {"config": (str,), "knobs": (dict,), "status": (str,), "reason": (str,), "params": (int, type(None)),
          "macs": (int, type(None)), "activation_bytes": (int, type(None)),
          "median_ms": (float, int, type(None)), "fps": (float, int, type(None)),
          "predicted_ms": (float, int, type(None)), "miou": (float, int, type(None)), "run": (str,),
          "device": (dict,)}


def valid_entry(entry, key: str, knobs: dict, config: str) -> dict | None:
    """The cached result (the fields of a sweep Result) if `entry` is one for exactly this key and
    configuration (`knobs`, named `config`), else None."""
    r = entry.get("result") if isinstance(entry, dict) and entry.get("key") == key else None
    if not isinstance(r, dict) or set(r) != set(FIELDS):
        return None
    typed = all(isinstance(r[k], t) and not isinstance(r[k], bool) for k, t in FIELDS.items())
    if not typed or r["knobs"] != knobs or r["config"] != config or r["status"] not in ("ok", "skipped"):
        return None
    if any(isinstance(r[k], int) and r[k] < 0 for k in ("params", "macs", "activation_bytes")):
        return None
    return r


class Cache:
    """One JSON file per configuration under DIR/cache/, named by the content hash and holding it,
    checked on every read: a damaged, swapped or foreign entry is recomputed, never trusted."""

    MAX_BYTES = 1 << 20

    def __init__(self, root: Path | None):
        self.root = root / "cache" if root else None
        if self.root and self.root.is_dir():
            clean_stale(self.root)  # temporaries of sweeps killed with SIGKILL

    def get(self, key: str, knobs: dict, config: str) -> dict | None:
        path = self.root / f"{key}.json" if self.root else None
        if path is None or not path.is_file():
            return None
        try:
            with path.open("rb") as f:
                return valid_entry(json.loads(f.read(self.MAX_BYTES + 1)), key, knobs, config)
        except (OSError, ValueError):
            return None  # unreadable or not JSON: recomputed, then replaced

    def put(self, key: str, result: dict) -> None:
        if not self.root:
            return
        path = self.root / f"{key}.json"
        with guard(path):
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key}.{os.getpid()}.", suffix=".tmp", dir=self.root)
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(json.dumps({"key": key, "result": result}))
                os.replace(tmp, path)  # unique per process: two sweeps sharing a cache never collide
            finally:
                Path(tmp).unlink(missing_ok=True)
