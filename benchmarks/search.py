"""Search against the exhaustive answer on the thesis grid (spaces/thesis.yaml, 630 configurations).

1. `search --sampler grid` over the whole grid, objective MACs (max: the most capacity) under a latency
   budget measured on this machine (PyTorch eager, 1 thread); every latency goes into the cache.
2. The exhaustive sweep filtered by hand (Sweep.run + the cached latencies): the same winner?
3. TPE and NSGA-II with a third of the trials, seeds 0-2, on the same cache (so that timing noise does
   not move the budget's edge between runs): the best MACs, and for the two objectives
   (MACs max, latency min) the hypervolume of their front against the exhaustive front.

    python benchmarks/search.py --budget-ms 10 --cache /tmp/search-cache > benchmarks/search.md.new
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archc.search.run import SearchRequest, run_search  # noqa: E402
from archc.search.space import load_space  # noqa: E402
from archc.search.stages import eager_latency  # noqa: E402
from archc.sweep.sweep import Sweep  # noqa: E402

SPEC, SPACE = "specs/fastscnn.yaml", "spaces/thesis.yaml"
PROFILE = {"runs": 10, "warmup": 2, "threads": 1, "runtime": "torch"}


def search(sampler, objectives, budget, trials, seed, cache, out):
    req = SearchRequest(SPEC, SPACE, objectives, [f"median_ms<={budget}"], sampler=sampler, trials=trials, seed=seed,
                        storage="memory", profile=PROFILE, cache=cache, build=False)
    start = time.perf_counter()
    outcome = run_search(req, out)
    return outcome, time.perf_counter() - start


def exhaustive(budget, cache):
    """Every configuration analysed, its latency from the cache, filtered by hand."""
    space = load_space(SPACE)
    results = [r for r in Sweep(SPEC, {k: list(v) for k, v in space.choices.items()}).run() if r.status == "ok"]
    times = eager_latency(Sweep(SPEC, {}), [r.knobs for r in results], cache, PROFILE)
    rows = [{"config": r.config, "macs": r.macs, "median_ms": t["median_ms"]} for r, t in zip(results, times)]
    return rows, [r for r in rows if r["median_ms"] <= budget]


def hypervolume(front, ref_ms):
    """Area dominated by (MACs up, latency down) points, from (0 MACs, ref_ms)."""
    pts = sorted({(r["median_ms"], r["macs"]) for r in front})
    area, best = 0.0, 0.0
    for i, (ms, macs) in enumerate(pts):  # ascending latency; a step function of the best MACs so far
        best = max(best, macs)
        nxt = pts[i + 1][0] if i + 1 < len(pts) else ref_ms
        area += best * (nxt - ms)
    return area


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-ms", type=float, default=10.0)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/archc-search-cache"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/archc-search-bench"))
    ap.add_argument("--samplers", default="tpe,nsga2")
    args = ap.parse_args()
    b = args.budget_ms
    grid, seconds = search("grid", ["macs:max"], b, None, 0, args.cache, args.out / "grid")
    rows, feasible = exhaustive(b, args.cache)
    by_hand = max(feasible, key=lambda r: r["macs"])
    print(f"## Thesis grid, MACs (max) under median_ms <= {b:g} (PyTorch eager, 1 thread, median of "
          f"{PROFILE['runs']} runs)\n")
    print(f"- grid search: {len(grid.rows)} trials in {seconds:.0f} s; winner `{grid.winner['config']}` "
          f"({grid.winner['macs']:,} MACs, {grid.winner['median_ms']:.2f} ms)")
    print(f"- exhaustive sweep filtered by hand: {len(rows)} valid, {len(feasible)} within budget; winner "
          f"`{by_hand['config']}` ({by_hand['macs']:,} MACs) -> same: {by_hand['config'] == grid.winner['config']}")
    front2, _ = search("grid", ["macs:max", "median_ms"], b, None, 0, args.cache, args.out / "grid2")
    ref = hypervolume(front2.front, b)
    print(f"- exhaustive two-objective front (MACs max, latency min): {len(front2.front)} configurations\n")
    print("| sampler | seed | configurations (trials asked) | best MACs / exhaustive | "
          "front hypervolume / exhaustive (trials asked) | seconds |")
    print("|---|---|---|---|---|---|")
    third = len(grid.rows) // 3
    for sampler in args.samplers.split(","):
        for seed in (0, 1, 2):
            one, s1 = search(sampler, ["macs:max"], b, third, seed, args.cache, args.out / f"{sampler}{seed}")
            two, s2 = search(sampler, ["macs:max", "median_ms"], b, third, seed, args.cache, args.out / f"{sampler}{seed}b")
            best = one.winner["macs"] / by_hand["macs"] if one.winner else 0.0
            print(f"| {sampler} | {seed} | {len({r['config'] for r in one.rows})} ({len(one.rows)}) | {best:.4f} | "
                  f"{hypervolume(two.front, b) / ref:.4f} ({len(two.rows)}) | {s1 + s2:.0f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
