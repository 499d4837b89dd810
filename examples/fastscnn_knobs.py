"""The IoT thesis's tuning knobs on Fast-SCNN (Zema, "Real-Time Semantic Segmentation in an Industrial IoT use case", Politecnico di Torino, 2022; code: github.com/xolotl18/master_thesis),
printed beside the numbers the thesis publishes.

    python examples/fastscnn_knobs.py

Each row is specs/fastscnn.yaml compiled with a list of passes, the way `archc summary
--pass ...` does: width `a` (width=0.125), expansion `t` (expand=2), repeats `r` (repeat=1),
the PPM (drop=ppm) and the input size (input=3x96x96). Every row compiles (a refusal is an
error, not a skipped row), and a figure that differs from the thesis's ends the script with exit 1.
"""
from __future__ import annotations

from pathlib import Path

from archc.compile import compile_spec

SPEC = Path(__file__).resolve().parent.parent / "specs" / "fastscnn.yaml"

# (label, passes, published params, published MACs (M), published fwd/bwd MB, Pi 4 ORT latency)
ROWS = [
    ("baseline a=1 t=6 r=3 pp=1", [], 1_122_673, 830.67, 209.9, "220 ms"),
    ("a=0.75", ["width=0.75"], None, None, None, ""),
    ("a=0.5", ["width=0.5"], None, None, None, ""),
    ("a=0.25", ["width=0.25"], None, None, None, ""),
    ("a=0.125", ["width=0.125"], 25_367, 23.69, None, "26.5 ms"),
    ("t=4", ["expand=4"], None, None, None, ""),
    ("t=2", ["expand=2"], None, None, None, ""),
    ("r=2", ["repeat=2"], None, None, None, ""),
    ("r=1", ["repeat=1"], None, None, None, ""),
    ("pp=0", ["drop=ppm"], None, None, None, ""),
    ("a=0.125 t=2 r=1 pp=0", ["width=0.125", "expand=2", "repeat=1", "drop=ppm"], None, None, None, ""),
    ("  ... at 96x96", ["width=0.125", "expand=2", "repeat=1", "drop=ppm", "input=3x96x96"], None, None, None,
     "1.2 ms"),
]


def fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def differs(r, p_params, p_macs, p_mb) -> bool:
    """Whether a published figure disagrees with ours (at the precision it is published with)."""
    return ((p_params is not None and r.params != p_params) or (p_macs is not None and round(r.macs / 1e6, 2) != p_macs)
            or (p_mb is not None and round(r.activation_bytes / 1e6, 1) != p_mb))


def main() -> int:
    print(f"Fast-SCNN knobs ({SPEC.name}, torchinfo counting; published = the thesis, 512x512, 1 class)")
    print(f"{'knobs':<26} {'params':>10} {'published':>10} {'MACs (M)':>9} {'published':>9} "
          f"{'fwd/bwd MB':>10} {'published':>9}  Pi 4 ORT (thesis)")
    wrong = []
    for label, passes, p_params, p_macs, p_mb, latency in ROWS:
        r = compile_spec(SPEC, passes).report
        print(f"{label:<26} {r.params:>10,} {fmt(p_params, ',d'):>10} {r.macs / 1e6:>9.2f} {fmt(p_macs, '.2f'):>9} "
              f"{r.activation_bytes / 1e6:>10.1f} {fmt(p_mb, '.1f'):>9}  {latency}")
        if differs(r, p_params, p_macs, p_mb):
            wrong.append(label)
    if wrong:
        print(f"differs from the thesis: {', '.join(wrong)}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
