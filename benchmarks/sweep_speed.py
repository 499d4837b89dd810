"""The thesis's knob grid, swept without profiling: two archc trees interleaved, then torchinfo.

    PYTHONPATH=. python benchmarks/sweep_speed.py [--runs 3] [--before /work/main] [--torchinfo-sample N]

Grid (the knobs of Zema 2022, github.com/xolotl18/master_thesis): width {1, .75, .5, .25, .125} x expand {6, 4, 2} x repeat {3, 2, 1}
x drop PPM or not x input {512, 256, 224, 192, 160, 128, 96} = 630 configurations.
Each run is a fresh process per tree (before, after, after, before, ...), timing `Sweep(...).run()`
end to end in that process -- loading the spec and the block library, the cache key's digest
of archc, every configuration's analysis, and the worker pool when the tree uses one -- but
not the interpreter's start or `import archc`. Both trees must give the same results. Then
every valid configuration (or a sample of N) is lowered and run through torchinfo, checking
the totals are equal.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

GRID = {"width": ["1", "0.75", "0.5", "0.25", "0.125"], "expand": ["6", "4", "2"], "repeat": ["3", "2", "1"],
        "drop": ["none", "ppm"], "input": [f"3x{s}x{s}" for s in (512, 256, 224, 192, 160, 128, 96)]}


TIMED = """
import json, sys, time
sys.path.insert(0, {bench!r})
from sweep_speed import GRID
from archc.sweep.sweep import Sweep
start = time.perf_counter()
results = Sweep({spec!r}, GRID).run()
seconds = time.perf_counter() - start
print(json.dumps([seconds, [(r.config, r.status, r.params, r.macs, r.activation_bytes) for r in results]]))
"""


def timed(root: str) -> tuple:
    bench = os.path.dirname(os.path.abspath(__file__))
    code = TIMED.format(bench=bench, spec=os.path.join(bench, "..", "specs", "fastscnn.yaml"))
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": root}, cwd=root,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def main(sample: int, runs: int, before: str, after: str) -> None:
    import torchinfo

    from archc.compile import compile_spec
    from archc.torch.lower import lower
    from archc.sweep.sweep import Sweep, passes_of

    times, rows = {"before": [], "after": []}, {}
    for i in range(runs):
        for name in (("before", "after") if i % 2 == 0 else ("after", "before")):
            seconds, rows[name] = timed(before if name == "before" else after)
            times[name].append(seconds)
    assert rows["before"] == rows["after"], "the two trees give different results"
    a, b = statistics.median(times["before"]), statistics.median(times["after"])
    print(f"sweep of {len(rows['after'])} configurations, {runs} fresh runs per tree, interleaved, "
          f"{os.cpu_count()} cores: same results")
    print(f"  before ({before}): median {a:.2f} s  {[round(t, 2) for t in times['before']]}")
    print(f"  after  ({after}): median {b:.2f} s  {[round(t, 2) for t in times['after']]}  -> {a / b:.1f}x")
    results = Sweep("specs/fastscnn.yaml", GRID).run()
    ok = [r for r in results if r.status == "ok"]
    skipped = [r for r in results if r.status != "ok"]
    print(f"  {len(ok)} valid, {len(skipped)} skipped")
    reasons = {}
    for r in skipped:
        reasons.setdefault(r.reason.split(": ")[-1].split(";")[0], 0)
        reasons[r.reason.split(": ")[-1].split(";")[0]] += 1
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  skipped {n}: {reason}")
    chosen = ok if sample <= 0 or sample >= len(ok) else random.Random(0).sample(ok, sample)
    times = []
    for r in chosen:
        t0 = time.perf_counter()
        graph = compile_spec("specs/fastscnn.yaml", passes_of(r.knobs)).graph
        stats = torchinfo.summary(lower(graph), input_size=(1, *graph.input_shape), verbose=0)
        times.append(time.perf_counter() - t0)
        assert (stats.total_params, stats.total_mult_adds, stats.total_output_bytes) == (
            r.params, r.macs, r.activation_bytes), r.config
    per_config = statistics.mean(times)
    print(f"torchinfo: {len(chosen)} configurations, all totals equal; mean {per_config * 1e3:.1f} ms, "
          f"median {statistics.median(times) * 1e3:.1f} ms per configuration")
    print(f"torchinfo for all {len(ok)} valid configurations (one process): "
          f"{per_config * len(ok):.1f} s -> sweep speed-up {per_config * len(ok) / b:.0f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torchinfo-sample", type=int, default=0, help="0: every valid configuration")
    parser.add_argument("--runs", type=int, default=3, help="fresh runs per tree")
    parser.add_argument("--before", default="/work/main", help="the archc tree to compare with")
    parser.add_argument("--after", default=os.getcwd())
    args = parser.parse_args()
    main(args.torchinfo_sample, args.runs, args.before, args.after)
