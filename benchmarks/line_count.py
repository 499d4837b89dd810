"""Lines of code per package of archc (tinygrad's discipline: the total is watched, and it shrinks by
deletion, not by splitting files). .ci/run prints it before the tests.

    python benchmarks/line_count.py            # a table: package, files, lines, code lines
"""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "archc"


def count(path: Path) -> tuple[int, int]:
    """(lines, code lines): code lines are neither blank nor only a comment."""
    lines = path.read_text().splitlines()
    return len(lines), sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def per_package(root: Path = PACKAGE) -> dict[str, list[int]]:
    """archc/<package> (or archc for the top-level modules) -> [files, lines, code lines]."""
    out: dict[str, list[int]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        key = f"{root.name}/{rel.parts[0]}" if len(rel.parts) > 1 else root.name
        entry = out.setdefault(key, [0, 0, 0])
        lines, code = count(path)
        entry[0], entry[1], entry[2] = entry[0] + 1, entry[1] + lines, entry[2] + code
    return out


def table(counts: dict[str, list[int]]) -> str:
    rows = [f"{'package':<16}{'files':>6}{'lines':>8}{'code':>8}"]
    rows += [f"{name:<16}{f:>6}{n:>8}{c:>8}" for name, (f, n, c) in sorted(counts.items(), key=lambda kv: -kv[1][1])]
    total = [sum(v[i] for v in counts.values()) for i in range(3)]
    rows.append(f"{'total':<16}{total[0]:>6}{total[1]:>8}{total[2]:>8}")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table(per_package()))
