"""How much of the weights' L1 norm the width pass keeps when it carries them (archc/torch/carry.py),
per shipped spec and width, with archc's seeded weights at each spec's own input, and how long the
carry takes. Writes benchmarks/carry_width.md:

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/carry_width.py
"""
from __future__ import annotations

import time
from pathlib import Path

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.torch.carry import carry
from archc.torch.weights import lower_seeded

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = (0.75, 0.5, 0.25)


def row(spec: Path, variables=None) -> list:
    original = compile_spec(spec, variables=variables).graph
    state = lower_seeded(original).state_dict()
    cells = []
    for a in WIDTHS:
        try:
            new = compile_spec(spec, [f"width={a}"], variables=variables).graph
            start = time.perf_counter()
            kept = carry(original, state, new).kept_norm
            cells.append(f"{kept:.3f} ({time.perf_counter() - start:.1f} s)")
        except ArchcError as exc:
            cells.append("refused: " + (f"the width adds {str(exc).split(chr(39))[1]}" if "not in the original"
                                        in str(exc) else str(exc).split(": ", 1)[-1][:60]))
    return cells


def main() -> None:
    lines = ["# Carrying weights through the width pass", "",
             "Fraction of the L1 norm of the prunable channel groups that survives (and the carry's time, one "
             "shared CPU core), with archc's seeded weights (`lower_seeded`, seed 0) at each spec's own input. "
             "Seeded weights spread the norm evenly, so the fraction sits near the width; trained weights "
             "concentrate it, and the fraction kept is then higher.", "",
             "| spec | " + " | ".join(f"width {a}" for a in WIDTHS) + " |", "|---|" + "---|" * len(WIDTHS)]
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        lines.append(f"| {spec.stem} | " + " | ".join(row(spec)) + " |")
        print(lines[-1], flush=True)
    lines.append("| essnetb, groups 4 + shuffle | " + " | ".join(row(ROOT / "specs" / "essnetb.yaml",
                                                                       {"groups": 4, "shuffle": True})) + " |")
    lines += ["", "Reproduce: `OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/carry_width.py`."]
    (ROOT / "benchmarks" / "carry_width.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
