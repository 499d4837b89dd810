"""The head every `--md` report of a benchmark script starts with: its title, the command that wrote it and
where its method (the script's docstring) and its reading are."""
from __future__ import annotations

from pathlib import Path


def write(path, title: str, script: str, text: str, says: str | None = None) -> None:
    """Write `text` under the head of `benchmarks/<script>.py`'s report to `path`."""
    reading = f" What it says: {says}." if says else ""
    Path(path).write_text(f"# {title}\n\nWritten by `nice -n 10 python benchmarks/{script}.py --md "
                          f"benchmarks/{script}.md`; the method is the script's docstring.{reading}\n\n{text}")
