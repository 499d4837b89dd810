"""Which bundled specs convert to an fp32 .tflite at their default input, verified as `archc build
--format tflite` verifies (LiteRT against PyTorch on the seeded inputs, ABS_TOL + REL_TOL × scale ×
depth), and what the converter refuses (its one-line error, naming the op).

    nice -n 10 python benchmarks/litert_convert.py [--specs fastscnn,enet] [--json FILE] [--md FILE]

Each spec is lowered with archc's seeded weights (the build's) and converted in this process, one after
the other; results are appended to the JSON as they come, so a rerun skips the specs already there.
Needs `pip install 'archc[litert]'`.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.lang.library import bundled
from archc.litert.convert import convert
from archc.litert.interpreter import Model
from archc.litert.verify import depth, verify
from archc.torch.weights import lowered

ROOT = Path(__file__).resolve().parents[1]


def measure(name: str, folder: Path) -> dict:
    c = compile_spec(ROOT / "specs" / f"{name}.yaml")
    shape = c.graph.input_shape
    module = lowered(c.graph).eval()
    row = {"spec": name, "input": "x".join(map(str, shape))}
    start = time.perf_counter()
    try:
        path = convert(module, shape, folder / f"{name}.tflite", c.graph.name)
        row["convert_s"] = round(time.perf_counter() - start, 1)
        row["bytes"] = path.stat().st_size
        row.update({k: v for k, v in verify(Model(path), module, shape, depth(c.graph)).items()
                    if k in ("max_abs_diff", "tolerance", "output_max_abs")}, status="ok")
    except ArchcError as exc:
        row.update(status="refused", error=exc.message, convert_s=round(time.perf_counter() - start, 1))
    return row


def table(rows: list) -> str:
    lines = ["| spec | input | result | max abs diff | tolerance | .tflite MB | convert s |",
             "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["spec"]):
        ok = r["status"] == "ok"
        lines.append(f"| {r['spec']} | {r['input']} | {'converts, verified' if ok else r['error']} | "
                     f"{r['max_abs_diff']:.2g} | {r['tolerance']:.2g} | {r['bytes'] / 1e6:.2f} | {r['convert_s']} |"
                     if ok else f"| {r['spec']} | {r['input']} | {r['error']} | - | - | - | {r['convert_s']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", default=None)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "litert_convert.json"))
    ap.add_argument("--md", default=None, help="also write the markdown table here")
    args = ap.parse_args()
    out = Path(args.json)
    rows = json.loads(out.read_text()) if out.is_file() else []
    done = {r["spec"] for r in rows}
    names = args.specs.split(",") if args.specs else sorted(bundled())
    with tempfile.TemporaryDirectory(prefix="litert-convert-") as tmp:
        for name in names:
            if name in done:
                continue
            rows.append(measure(name, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
            out.write_text(json.dumps(rows, indent=1) + "\n")
    if args.md:
        Path(args.md).write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
