"""The per-layer tables of docs/latency.md: Fast-SCNN at width 1 and 0.125, at 512x512 and
96x96, profiled per layer in ONNX Runtime on this machine (1 thread), the four models in one
process with their runs interleaved (plain and profiled sessions alike: runner.run_many), so
that all four see the same machine. Each is what

    archc profile specs/fastscnn.yaml --pass width=W --input 3xSxS --per-layer --runs 30 --warmup 5 --json

measures, with the four timed side by side instead of one after another.

    python benchmarks/fastscnn_layers.py [--runs 30 --warmup 5] [--raw /tmp/fastscnn_layers.json] > tables.md
    python benchmarks/fastscnn_layers.py --from /tmp/fastscnn_layers.json   # tables again, nothing timed
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile

from archc.compile import compile_spec
from archc.onnx.export import export_onnx
from archc.measure.layers import rows_of
from archc.measure.targets import profile_many
from archc.measure.timing import Timing

SPEC = "specs/fastscnn.yaml"
CASES = [("1", 512), ("1", 96), ("0.125", 512), ("0.125", 96)]


def measure(runs: int, warmup: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="fastscnn-layers-") as tmp:
        models = []
        for i, (w, s) in enumerate(CASES):
            c = compile_spec(SPEC, [f"width={w}", f"input=3x{s}x{s},strict=false"], None, {})
            models.append((export_onnx(c.graph, f"{tmp}/{i}.onnx").path, True, c.report, rows_of(c.graph)))
        load = [uptime()]
        results = profile_many(models, Timing(1, runs, warmup))
        load.append(uptime())
    return {"uptime": load, "cases": [{"width": w, "size": s, "profile": r} for (w, s), r in zip(CASES, results)]}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def table(case: dict) -> str:
    p = case["profile"]
    macs = sum(l["macs"] for l in p["layers"])
    node_sum = p["node_sum_ms"] or 1.0
    out = [f"### width {case['width']}, {case['size']}x{case['size']}\n",
           f"{macs / 1e6:.1f} MMACs; end-to-end median {p['end_to_end_median_ms']:.3f} ms (p90 {p['p90_ms']:.3f}; "
           f"CPU time {p['cpu_median_ms']:.3f} ms); "
           f"per-node sum {p['node_sum_ms']:.3f} ms ({p['node_sum_ratio']:.2f}x); "
           f"unattributed {p['unattributed_ms']:.3f} ms\n",
           "| row | MMACs | ms | share of time | share of MACs | GMAC/s |", "|---|---|---|---|---|---|"]
    out += [_row(r, macs) for r in p["rows"]] + ["| **stages** | | | | | |"] + [_row(s, macs) for s in p["stages"]]
    top = sorted(p["layers"], key=lambda l: -l["ms"])[:5]
    out.append("\ncostliest layers: " + ", ".join(f"`{l['name']}` {l['ms'] / node_sum:.1%}" for l in top))
    return "\n".join(out) + "\n"


def _row(r: dict, macs: int) -> str:
    rate = f"{r['gmacs_per_s']:.1f}" if r.get("gmacs_per_s") else "-"
    return (f"| {r['name']} | {r['macs'] / 1e6:.2f} | {r['ms']:.3f} | {r['share']:.1%} | {r['macs'] / macs:.1%} | "
            f"{rate} |")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--raw", default="/tmp/fastscnn_layers.json")
    p.add_argument("--from", dest="from_")
    a = p.parse_args()
    if a.from_:
        raw = json.load(open(a.from_))
    else:
        raw = measure(a.runs, a.warmup)
        with open(a.raw, "w") as f:
            json.dump(raw, f, indent=1)
    print(f"load: `{raw['uptime'][0]}` -> `{raw['uptime'][1]}`\n")
    for case in raw["cases"]:
        print(table(case))


if __name__ == "__main__":
    main()
