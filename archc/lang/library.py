"""The bundled spec library: a SPEC argument may name a shipped spec instead of a file.

    archc summary mobilenetv2          # = archc summary specs/mobilenetv2.yaml
    archc specs                        # every bundled spec with params, MACs, input and source
"""
from __future__ import annotations

import re
from pathlib import Path

from archc.errors import SpecError, did_you_mean

SPECS = Path(__file__).resolve().parents[2] / "specs"  # the repository's specs/ beside the package


def bundled() -> dict[str, Path]:
    """Bundled spec name -> file, in name order."""
    return {p.stem: p for p in sorted(SPECS.glob("*.yaml"))}


def resolve_spec(arg) -> Path:
    """An existing file as given; else a bundled spec's name; else a one-line error with the choices."""
    path = Path(arg)
    if path.exists() or path.suffix or len(path.parts) > 1:
        return path  # a path: the loader reports a missing or bad file with its name
    specs = bundled()
    if str(arg) in specs:
        return specs[str(arg)]
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
