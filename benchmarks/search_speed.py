"""CPU time of `archc search --latency-model` over many trials, two archc trees interleaved in one run,
for benchmarks/search_speed.md and docs/search.md's "Speed".

    PYTHONPATH=. python benchmarks/search_speed.py --before /tmp/before [--trials 2000] [--rounds 2]

Each search is `archc search fastscnn --space spaces/fastscnn_stages.yaml --latency-model rpi4-ort-thesis
--sampler tpe --trials N --budget 'median_ms<=33.4' --objective miou:max` (miou becomes the capacity
objective macs:max without --train) as the application function runs it, in a fresh process per
search, with `--storage memory` (or sqlite with --sqlite) and no winner build. The trees alternate
(before, this, before, this...), so that the load of a shared machine falls on both alike; the figure
is each process's own CPU time (time.process_time around run_search: analysis, prediction, Optuna),
with the load average before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
from archc.search.run import SearchRequest, run_search
trials, storage = int(sys.argv[1]), sys.argv[2]
out = Path(tempfile.mkdtemp(prefix="search-speed-"))
storage = "memory" if storage == "memory" else f"sqlite:///{out / 'study.db'}"
req = SearchRequest("fastscnn", "spaces/fastscnn_stages.yaml", ["miou:max"], ["median_ms<=33.4"], sampler="tpe",
                    trials=trials, storage=storage, build=False, latency_model="rpi4-ort-thesis")
start, wall = time.process_time(), time.time()
o = run_search(req, out / "o")
print(json.dumps({"cpu_s": time.process_time() - start, "wall_s": time.time() - wall, "rows": len(o.rows),
                  "winner": o.winner["config"], "median_ms": o.winner["median_ms"], "macs": o.winner["macs"]}))
"""


def one(tree: Path, trials: int, storage: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, "-c", CHILD, str(trials), storage], cwd=tree, env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="an archc tree to compare with (e.g. a git archive of main)")
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--sqlite", action="store_true", help="the study in sqlite (the CLI's default) instead of memory")
    ap.add_argument("--only-this", action="store_true", help="time this tree alone")
    ap.add_argument("--this-first", action="store_true", help="this tree first in each round")
    a = ap.parse_args()
    storage = "sqlite" if a.sqlite else "memory"
    trees = {"this": ROOT} if a.only_this else {"before": Path(a.before).resolve(), "this": ROOT}
    if a.this_first:  # a second invocation in the other order: drift of the load then falls on both alike
        trees = dict(reversed(list(trees.items())))
    results = {name: [] for name in trees}
    load = [os.getloadavg()]
    for r in range(a.rounds):
        for name, tree in trees.items():
            results[name].append(one(tree, a.trials, storage))
            print(name, r, json.dumps(results[name][-1]), flush=True)
    load.append(os.getloadavg())
    print(f"load average before / after: {[round(x, 1) for x in load[0]]} / {[round(x, 1) for x in load[1]]}")
    for name, rs in results.items():
        print(f"{name}: CPU s {[round(x['cpu_s'], 1) for x in rs]} (median {statistics.median(x['cpu_s'] for x in rs):.1f}),"
              f" wall s {[round(x['wall_s']) for x in rs]}; winner {rs[0]['median_ms']} ms, {rs[0]['macs']:,} MACs")


if __name__ == "__main__":
    main()
