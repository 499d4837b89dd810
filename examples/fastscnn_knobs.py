"""The IoT thesis's tuning knobs on Fast-SCNN (Zema, "Real-Time Semantic Segmentation in an Industrial IoT use case", Politecnico di Torino, 2022; code: github.com/xolotl18/master_thesis),
printed beside the numbers the thesis publishes.

    python examples/fastscnn_knobs.py

Each row is specs/fastscnn.yaml compiled with a list of passes, the way `archc summary
--pass ...` does: width `a` (width=0.125), expansion `t` (expand=2), repeats `r` (repeat=1),
the PPM (drop=ppm) and the input size (input=3x96x96). A pass this checkout does not have yet
is reported as such and its row skipped, so the script runs at every stage of the project.
"""
from __future__ import annotations

from pathlib import Path

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.passes import registry

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


def missing_passes(passes: list[str], known: dict) -> list[str]:
    return [p.split("=")[0] for p in passes if p.split("=")[0] not in known]


def fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    known = registry()
    print(f"Fast-SCNN knobs ({SPEC.name}, torchinfo counting; published = the thesis, 512x512, 1 class)")
    print(f"{'knobs':<26} {'params':>10} {'published':>10} {'MACs (M)':>9} {'published':>9} "
          f"{'fwd/bwd MB':>10} {'published':>9}  Pi 4 ORT (thesis)")
    for label, passes, p_params, p_macs, p_mb, latency in ROWS:
        missing = missing_passes(passes, known)
        if missing:
            print(f"{label:<26} (needs pass {', '.join(missing)}, not in this checkout)")
            continue
        try:
            r = compile_spec(SPEC, passes).report
        except ArchcError as exc:
            print(f"{label:<26} error: {exc}")
            continue
        print(f"{label:<26} {r.params:>10,} {fmt(p_params, ',d'):>10} {r.macs / 1e6:>9.2f} {fmt(p_macs, '.2f'):>9} "
              f"{r.activation_bytes / 1e6:>10.1f} {fmt(p_mb, '.1f'):>9}  {latency}")


if __name__ == "__main__":
    main()
