"""How a checkpoint was paired with the compiled module (stderr: stdout stays for --json)."""
from __future__ import annotations

from rich.console import Console


def mapping(report) -> None:
    how = ", ".join(f"{n} by {way}" for way, n in report.how.items() if n)
    err = Console(stderr=True)
    err.print(f"weights: {report.source}: {len(report.paired)} tensors paired ({how or 'none'})")
    if report.carried:
        err.print(f"  carried through the passes: {report.carried['kept_norm']:.1%} of the weights' L1 norm kept")
    if report.kept:
        err.print(f"  left at archc's init ({len(report.kept)}): {_few(report.kept)}")
    if report.ignored:
        err.print(f"  checkpoint tensors not used ({len(report.ignored)}): {_few(report.ignored)}")


def _few(keys: list, n: int = 4) -> str:
    return ", ".join(keys[:n]) + (f", ... ({len(keys) - n} more)" if len(keys) > n else "")
