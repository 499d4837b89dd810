"""Output names: a format follows the suffix of `-o`, a `--format` that contradicts it is refused, and
nothing lands in the current folder unless a path says so.

    archc graph specs/fastscnn.yaml -o g.png        # PNG, from the suffix
    archc graph specs/fastscnn.yaml -f dot -o g.png # refused: --format dot but the file is .png
"""
from __future__ import annotations

from pathlib import Path

from archc.errors import ArchcError

GRAPH_SUFFIXES = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".png": "png", ".svg": "svg"}
PLOT_SUFFIXES = {".png": "png", ".svg": "svg"}


def graph_format(output: Path | None, format: str | None) -> str:
    """The format of `archc graph`: from -o's suffix, else --format, else dot."""
    if format is not None and format not in GRAPH_SUFFIXES.values():
        raise ArchcError(f"--format {format}: use dot, mermaid, png or svg")
    implied = GRAPH_SUFFIXES.get(output.suffix.lower()) if output is not None else None
    if format and implied and format != implied:
        raise ArchcError(f"--format {format} but -o {output} is a .{output.suffix[1:]} file; drop --format or "
                         f"name the file {output.with_suffix(_suffix(format))}")
    fmt = format or implied or "dot"
    if fmt in ("png", "svg") and output is None:
        raise ArchcError(f"--format {fmt} writes a picture: give the file, e.g. -o graph.{fmt}")
    return fmt


def _suffix(fmt: str) -> str:
    return next(s for s, f in GRAPH_SUFFIXES.items() if f == fmt)


def plot_targets(output: Path | None, results: Path) -> list[tuple[Path, str]]:
    """(path, format) pairs of a Pareto plot: -o FILE.png or FILE.svg writes that one; -o STEM (no
    suffix) writes STEM.png and STEM.svg; no -o writes pareto.png and .svg beside the results file."""
    if output is None:
        output = Path(results).parent / "pareto"
    if not output.suffix:
        return [(output.with_suffix(".png"), "png"), (output.with_suffix(".svg"), "svg")]
    fmt = PLOT_SUFFIXES.get(output.suffix.lower())
    if fmt is None:
        raise ArchcError(f"-o {output}: a plot is .png or .svg (or give a name without a suffix for both)")
    return [(output, fmt)]
