"""The bundled spec library: the specs that ship inside the package (archc/specs/*.yaml, installed
with the wheel; the repository's specs/ is the same folder). A spec imports one by name:

    - id: backbone
      import: archc:mobilenetv3_large     # instead of a path
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PREFIX = "archc:"


def root() -> Path:
    """The folder of the bundled specs, symlinks resolved."""
    return Path(str(resources.files("archc").joinpath("specs"))).resolve()


def bundled() -> dict[str, Path]:
    """Bundled spec name -> its file, e.g. {'mobilenetv2': .../archc/specs/mobilenetv2.yaml, ...}."""
    return {p.stem: p for p in sorted(root().glob("*.yaml"))}


def trusted_roots(top_dir: Path) -> list[Path]:
    """Folders an import may read from: the top spec's own folder, the bundled library, and the folders
    the user lists in ARCHC_SPEC_PATH (os.pathsep-separated). A spec is data that may come from anyone:
    without this bound, an import (or a symlink shipped beside it) could make archc read any file."""
    extra = [Path(p).resolve() for p in os.environ.get("ARCHC_SPEC_PATH", "").split(os.pathsep) if p]
    return [top_dir.resolve(), root(), *extra]
