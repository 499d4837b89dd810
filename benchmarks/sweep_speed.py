"""The thesis's knob grid, swept without profiling: two archc trees interleaved (CPU time), then archc
against torchinfo on the hand-written Fast-SCNN (benchmarks/fastscnn_handwritten.py), cold and in-process.

    PYTHONPATH=. python benchmarks/sweep_speed.py [--runs 3] [--before /work/main] [--torchinfo-sample 8]

Grid (the knobs of Zema 2022, github.com/xolotl18/master_thesis): width {1, .75, .5, .25, .125} x expand {6, 4, 2} x repeat {3, 2, 1}
x drop PPM or not x input {512, 256, 224, 192, 160, 128, 96} = 630 configurations.
Each run is a fresh process per tree (before, after, after, before, ...) timing the CPU time of
`Sweep(..., jobs=1).run()` in that process (every configuration analysed there, none in a worker) --
loading the spec and the block library, the cache key's digest of archc, every configuration's
analysis -- but not the interpreter's start or `import archc`. Both trees must give the same results.

Then, for a sample of valid configurations, what a user without archc would run: torchinfo.summary of
the hand-written model (build the nn.Module + summary), checking its totals equal archc's, against
archc's analysis of the same configuration:
- in-process (imports done), CPU time per configuration: archc in a fresh workspace (a plain
  `compile_spec`), archc in a workspace that has not seen the structure (a new width, expand, repeat or
  drop: a full build that replays block templates), archc in a workspace that knows the structure at
  another input size (a reshape), and torchinfo;
- cold: a fresh `python -c` per configuration doing the imports and one analysis, its CPU time
  (user + system, from the child's rusage), interleaved archc / torchinfo.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
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
start = time.process_time()
results = Sweep({spec!r}, GRID, jobs=1).run()
seconds = time.process_time() - start
print(json.dumps([seconds, [(r.config, r.status, r.params, r.macs, r.activation_bytes) for r in results]]))
"""


def timed(root: str) -> tuple:
    bench = os.path.dirname(os.path.abspath(__file__))
    code = TIMED.format(bench=bench, spec=os.path.join(bench, "..", "specs", "fastscnn.yaml"))
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": root}, cwd=root,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def sweep_ratio(runs: int, before: str, after: str) -> list:
    """The two trees' sweeps, interleaved; their results (equal) as (config, status, params, macs, bytes)."""
    times, rows = {"before": [], "after": []}, {}
    for i in range(runs):
        for name in (("before", "after") if i % 2 == 0 else ("after", "before")):
            seconds, rows[name] = timed(before if name == "before" else after)
            times[name].append(seconds)
    assert rows["before"] == rows["after"], "the two trees give different results"
    a, b = statistics.median(times["before"]), statistics.median(times["after"])
    print(f"sweep of {len(rows['after'])} configurations, {runs} fresh runs per tree, interleaved, CPU time, "
          f"load average {os.getloadavg()[0]:.1f}: same results")
    print(f"  before ({before}): median {a:.2f} s  {[round(t, 2) for t in times['before']]}")
    print(f"  after  ({after}): median {b:.2f} s  {[round(t, 2) for t in times['after']]}  -> {a / b:.2f}x")
    ok = [r for r in rows["after"] if r[1] == "ok"]
    print(f"  {len(ok)} valid, {len(rows['after']) - len(ok)} skipped")
    return ok


def knobs(config: str) -> tuple:
    """'width=0.5 expand=4 repeat=2 drop=ppm input=3x256x256' -> the hand-written model's (a, t, r, pp, size)."""
    k = dict(part.split("=", 1) for part in config.split())
    size = int(k["input"].split("x")[1])
    return float(k.get("width", 1)), int(k.get("expand", 6)), int(k.get("repeat", 3)), "drop" not in k, size


def hand_written(a, t, r, pp, size) -> tuple:
    """torchinfo's totals of the hand-written model (the module built, then summarised)."""
    import torchinfo
    from fastscnn_handwritten import FastSCNN

    s = torchinfo.summary(FastSCNN(1, a, size, t, r, pp, 3).eval(), input_size=(1, 3, size, size), verbose=0,
                          device="cpu")
    return s.total_params, s.total_mult_adds, s.total_output_bytes


def cpu(fn, *args):
    start = time.process_time()
    out = fn(*args)
    return time.process_time() - start, out


def in_process(chosen: list) -> None:
    from archc.compile import compile_spec
    from archc.ir.workspace import Workspace

    spec = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "specs", "fastscnn.yaml")
    times = {"archc, fresh workspace": [], "archc, new structure": [], "archc, known structure": [], "torchinfo": []}
    ws = Workspace()  # one for the run, as a sweep or search keeps one
    ws.load(spec)
    for config, _, *totals in chosen:
        passes, (a, t, r, pp, size) = config.split(), knobs(config)
        seconds, c = cpu(lambda: compile_spec(spec, passes).report)  # a plain call makes its own workspace
        times["archc, fresh workspace"].append(seconds)
        made = ws.strategy.made
        seconds, _ = cpu(lambda: compile_spec(spec, passes, workspace=ws).report)
        times["archc, new structure" if ws.strategy.made > made else "archc, known structure"].append(seconds)
        other = [p for p in passes if not p.startswith("input=")] + [f"input=3x{size * 2}x{size * 2}"]
        made = ws.strategy.made
        seconds, _ = cpu(lambda: compile_spec(spec, other, workspace=ws).report)  # the structure at another size
        assert ws.strategy.made == made, "a known structure was built again"
        times["archc, known structure"].append(seconds)
        seconds, ref = cpu(hand_written, a, t, r, pp, size)
        times["torchinfo"].append(seconds)
        assert list(ref) == totals == [c.params, c.macs, c.activation_bytes], config
    ti = statistics.median(times["torchinfo"])
    print(f"in-process, {len(chosen)} valid configurations, totals equal torchinfo's on the hand-written model; "
          f"CPU time per configuration, median (load average {os.getloadavg()[0]:.1f}):")
    for name, ts in times.items():
        m = statistics.median(ts) if ts else float("nan")
        print(f"  {name:24s} {m * 1e3:8.2f} ms  (n={len(ts)})"
              + ("" if name == "torchinfo" else f"   torchinfo / this {ti / m:6.1f}x"))


COLD_ARCHC = "from archc.compile import compile_spec; compile_spec({spec!r}, {passes!r}).report"
COLD_TORCHINFO = "import sys; sys.path.insert(0, {bench!r}); from sweep_speed import hand_written; hand_written{args!r}"


def child_cpu(code: str) -> float:
    """CPU time (user + system) of a fresh `python -c code`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cold(chosen: list) -> None:
    bench = os.path.dirname(os.path.abspath(__file__))
    spec = os.path.join(bench, "..", "specs", "fastscnn.yaml")
    times = {"archc": [], "torchinfo": []}
    for i, (config, *_) in enumerate(chosen):
        codes = {"archc": COLD_ARCHC.format(spec=spec, passes=config.split()),
                 "torchinfo": COLD_TORCHINFO.format(bench=bench, args=knobs(config))}
        for name in (("archc", "torchinfo") if i % 2 == 0 else ("torchinfo", "archc")):
            times[name].append(child_cpu(codes[name]))
    a, t = statistics.median(times["archc"]), statistics.median(times["torchinfo"])
    print(f"cold, a fresh process per configuration ({len(chosen)} each, interleaved), CPU time, median "
          f"(load average {os.getloadavg()[0]:.1f}): archc {a:.2f} s, torchinfo {t:.2f} s -> {t / a:.1f}x")


def main(sample: int, runs: int, before: str, after: str) -> None:
    ok = sweep_ratio(runs, before, after)
    if sample:
        chosen = random.Random(0).sample(ok, min(sample, len(ok)))
        in_process(chosen)
        cold(chosen)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torchinfo-sample", type=int, default=8, help="0: no torchinfo comparison")
    parser.add_argument("--runs", type=int, default=3, help="fresh runs per tree")
    parser.add_argument("--before", default="/work/main", help="the archc tree to compare with")
    parser.add_argument("--after", default=os.getcwd())
    args = parser.parse_args()
    main(args.torchinfo_sample, args.runs, args.before, args.after)
