"""The bundled spec library: the specs that ship inside the package (archc/specs/*.yaml, installed
with the wheel; the repository's specs/ is the same folder). A SPEC argument may name one instead of a
file, and a spec imports one by name:

    archc summary mobilenetv2             # = archc summary specs/mobilenetv2.yaml
    archc specs                           # every bundled spec with params, MACs, input and source
    - id: backbone
      import: archc:mobilenetv3_large     # instead of a path
"""
from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from archc.errors import SpecError, did_you_mean

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


def resolve_spec(arg) -> Path:
    """An existing file as given; else a bundled spec's name; else a one-line error with the choices."""
    path = Path(arg)
    name = str(arg)[len(PREFIX):] if str(arg).startswith(PREFIX) else None  # archc:NAME, as imports write it
    if name is None and (path.exists() or path.suffix or len(path.parts) > 1):
        return path  # a path: the loader reports a missing or bad file with its name
    specs = bundled()
    if (name or str(arg)) in specs:
        return specs[name or str(arg)]
    raise SpecError(f"{arg}: no such file and no bundled spec of that name (bundled: {', '.join(specs)})"
                    f"{did_you_mean(arg, specs)}")


def source(header: str) -> str:
    """The citation a spec's header opens with: its first 'Name (authors, venue)'."""
    text = " ".join(line.lstrip("# ").strip() for line in header.splitlines())
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == ")" and depth == 0:
            return text[:i + 1]
    return re.split(r"(?<=[.;:])\s", text, maxsplit=1)[0]
