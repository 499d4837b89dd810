"""Fresh analysis of Fast-SCNN configurations, two archc trees side by side, interleaved.

    PYTHONPATH=. python benchmarks/analysis_speed.py [--variants 100] [--before /work/main]
    PYTHONPATH=. python benchmarks/analysis_speed.py --space spaces/fastscnn_stages.yaml --variants 200 ...

Each configuration (width x input x classes, product order) is analysed once per tree, as
`archc summary` does it: `compile_spec(...).report` = load + `width` and `input` passes +
build + analyze. Each tree runs in its own worker process, so every configuration is new
work in that process (never analysed before in it); what a tree keeps between configurations
is its own business (this branch: the parsed spec, the graphs of structures it has built,
reshaped to a new input size). The driver sends configuration i to both workers in turn
(ABBA...), checks both give the same params, MACs and activation bytes, and reports the medians
and totals of each configuration's CPU time (time.process_time in its worker) and their ratio.
With --space, the configurations are random points (seed 0) of a search space file instead,
as `archc search` compiles them: nearly every one a structure new to the process.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time

WIDTHS = ("1", "0.75", "0.5", "0.25", "0.125")
INPUTS = ("3x512x512", "3x448x448", "3x384x384", "3x320x320", "3x256x256")
CLASSES = (1, 2, 19, 21)
SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "specs", "fastscnn.yaml")


def variants(n, space=None, seed=0):
    """(passes, input, variables) per configuration: the width x input x classes table, or `n`
    points drawn at random (seeded) from a search space file (`--space`)."""
    if space is None:
        return [([f"width={w}"], size, {"classes": c})
                for w, size, c in itertools.islice(itertools.product(WIDTHS, INPUTS, CLASSES), n)]
    import random

    from archc.search.space import load_space

    choices, rng = load_space(space).choices, random.Random(seed)
    out = []
    for _ in range(n):
        knobs = {k: rng.choice(v) for k, v in choices.items()}
        size = knobs.pop("input", None)
        out.append(([p for k, v in knobs.items() if v.lower() != "none"
                     for p in [f"{k.partition('@')[0]}={v}" + (f",where={k.partition('@')[2]}" if "@" in k else "")]],
                    size, {}))
    return out


def worker() -> None:
    """Read a variant index per line, answer with its CPU time and totals (and whether it built a graph
    in full). A tree with a workspace (archc/ir/workspace.py) gets one for the whole run, as a search
    keeps one; a tree before it kept its memories in module dicts."""
    from archc.compile import compile_spec
    from archc.errors import ArchcError

    try:
        from archc.ir.workspace import Workspace

        ws = Workspace()
        run, full = (lambda *a: compile_spec(*a, workspace=ws)), (lambda: ws.strategy.made)
    except ImportError:  # a tree before the workspace
        import archc.ir.builds as b

        builds, real = [], b.build
        b.build = lambda spec: builds.append(1) or real(spec)  # count full builds (not reshapes)
        run, full = compile_spec, (lambda: len(builds))
    for line in sys.stdin:
        passes, size, variables = json.loads(line)
        before = full()
        start = time.process_time()
        try:
            r = run(SPEC, passes, size, variables).report
            totals = [r.params, r.macs, r.activation_bytes]
        except ArchcError as exc:  # a refusal is an answer too (and must be the same in both trees)
            totals = [exc.message, None, None]
        seconds = time.process_time() - start
        print(json.dumps([seconds, *totals, full() - before]), flush=True)


def start(root: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": root}
    return subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env, cwd=root)


def ask(proc, variant) -> list:
    proc.stdin.write(json.dumps(variant) + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def main(n: int, before: str, after: str, space=None) -> None:
    table = variants(n, space)
    procs = {"before": start(before), "after": start(after)}
    times = {"before": [], "after": []}
    split = {"new": [], "known": []}  # the after tree's times, by whether the structure was new to it
    for i in range(n):
        order = ("before", "after") if i % 2 == 0 else ("after", "before")
        answers = {name: ask(procs[name], table[i]) for name in order}
        assert answers["before"][1:4] == answers["after"][1:4], (table[i], answers)
        for name in procs:
            times[name].append(answers[name][0])
        split["new" if answers["after"][4] else "known"].append(answers["after"][0])
    for p in procs.values():
        p.stdin.close()
        p.wait()
    a, b = statistics.median(times["before"]), statistics.median(times["after"])
    what = f"points of {space}" if space else "configurations"
    print(f"{n} Fast-SCNN {what}, each analysed once per tree (load + passes + build + analyze), "
          f"interleaved; totals equal in all {n}; CPU time; load average {os.getloadavg()[0]:.1f}")
    print(f"  before ({before}): median {a * 1e3:7.2f} ms   total {sum(times['before']):6.2f} s")
    ratio = sum(times["before"]) / sum(times["after"])
    print(f"  after  ({after}): median {b * 1e3:7.2f} ms   total {sum(times['after']):6.2f} s   "
          f"-> {a / b:.2f}x median, {ratio:.2f}x total")
    for kind, ts in split.items():
        if ts:
            print(f"    after, {kind} structure ({len(ts)}): median {statistics.median(ts) * 1e3:7.2f} ms")


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        worker()
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--before", default="/work/main", help="the archc tree to compare with")
    parser.add_argument("--after", default=os.getcwd())
    parser.add_argument("--space", help="draw --variants random points of this search space instead")
    args = parser.parse_args()
    main(args.variants if args.space else min(args.variants, 100), args.before, args.after, args.space)
