"""onnxsim against onnxslim on every shipped spec: ONNX nodes before and after, the time each takes,
and whether the simplified model still matches PyTorch (ONNX Runtime, archc's verification).

    python benchmarks/simplifiers.py [--specs fastscnn,mobilenetv2] [--json FILE]

Each spec is exported once (archc's dynamo export, BN folded, seeded weights); each simplifier gets
a fresh copy of that export. Times are wall clock of one call (onnxsim's includes its own output check).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import onnx

import archc
from archc.onnx.export import export_onnx
from archc.onnx.verify import SIMPLIFIERS, TOLERANCE, max_abs_diff, simplify


def measure(name: str, folder: Path) -> list[dict]:
    model = archc.compile(name)
    start = time.perf_counter()
    exported = export_onnx(model.compiled.graph, folder / f"{name}.onnx")
    export_s = time.perf_counter() - start
    raw = onnx.load(str(exported.path))
    rows = []
    for simplifier in SIMPLIFIERS:
        start = time.perf_counter()
        simple, note = simplify(raw, model.input, simplifier)
        seconds = time.perf_counter() - start
        diff = max_abs_diff(simple, exported.module, model.input)[0] if simple is not None else None
        rows.append({"spec": name, "simplifier": simplifier, "nodes_exported": exported.nodes,
                     "nodes": len(simple.graph.node) if simple is not None else None, "seconds": round(seconds, 2),
                     "export_seconds": round(export_s, 2), "max_abs_diff": diff,
                     "verified": diff is not None and diff <= TOLERANCE, "note": note})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", help="comma-separated bundled spec names (default: all)")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    names = args.specs.split(",") if args.specs else [s["name"] for s in archc.specs()]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row for name in names for row in measure(name, Path(tmp))]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
