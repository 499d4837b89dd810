"""The samplers of `archc search` on a fixed table of the thesis grid, many seeds, in seconds.

benchmarks/search.py measures every configuration's latency and runs each sampler a few times; its
runs take minutes, so few seeds fit. This script runs archc's own search loop (archc.search.study.Search:
the same ask/tell, batches, constraints and repeat handling) against benchmarks/thesis_latency.json,
the 630 configurations of spaces/thesis.yaml with the MACs of archc's analysis and the PyTorch eager
latencies that benchmarks/search.py measured (2026-12-01; 405 valid, 225 refused by the PPM), so that
every sampler and seed sees the same latencies and only the sampler differs.

    python benchmarks/search_samplers.py --budget-ms 33.4,20,50 --seeds 10 > benchmarks/search_samplers.md.new

`--seeds 10-30` runs seeds 10 to 29 (seeds other than those the settings were chosen on); `random`
among --samplers is Optuna's RandomSampler in the same loop, the reference a sampler has to beat.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archc.search.space import load_space, parse_constraint  # noqa: E402
from archc.search.study import Objective, Search  # noqa: E402
from archc.sweep.sweep import _config  # noqa: E402

TABLE = ROOT / "benchmarks" / "thesis_latency.json"


@dataclass
class _Spec:
    spec: str = "specs/fastscnn.yaml"


class TableEvaluator:
    """Evaluator's interface (run(batch) -> rows; constraints; sweep.spec) over the measured table."""

    def __init__(self, table: dict, budget_ms: float):
        self.table, self.sweep = table, _Spec()
        self.constraints = [parse_constraint(f"median_ms<={budget_ms}")]
        self.evaluated = 0  # configurations looked up: what an expensive run would have measured

    def run(self, batch: list) -> list:
        rows = []
        for knobs in batch:
            config = _config(knobs)
            hit = self.table[config]
            self.evaluated += 1
            ok = hit["status"] == "ok"
            broken = ok and self.constraints[0].excess(hit["median_ms"]) > 0
            rows.append({"config": config, "status": ("infeasible" if broken else "ok") if ok else "skipped",
                         "macs": hit["macs"], "median_ms": hit["median_ms"] if ok else None})
        return rows


def hypervolume(points, ref_ms):
    """Area dominated by (MACs up, latency down) points, from (0 MACs, ref_ms)."""
    pts = sorted({(ms, macs) for macs, ms in points})
    area, best = 0.0, 0.0
    for i, (ms, macs) in enumerate(pts):
        best = max(best, macs)
        area += best * ((pts[i + 1][0] if i + 1 < len(pts) else ref_ms) - ms)
    return area


def feasible(rows, budget):
    return [(r["macs"], r["median_ms"]) for r in rows if r["status"] == "ok" and r["median_ms"] <= budget]


class RandomSearch(Search):
    """The same loop with Optuna's RandomSampler (repeats pruned as TPE's are)."""

    def _sampler(self, optuna):
        return optuna.samplers.RandomSampler(seed=self.seed)


def one(space, table, sampler, objectives, trials, seed, budget):
    """(the feasible (MACs, ms) found, configurations looked up)"""
    ev = TableEvaluator(table, budget)
    search = RandomSearch(space, objectives, ev, "tpe", trials, seed) if sampler == "random" else \
        Search(space, objectives, ev, sampler, trials, seed)
    done, _ = search.run(None)
    return feasible([t.user_attrs["row"] for t in done], budget), ev.evaluated


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-ms", default="33.4", help="one budget or several, comma-separated")
    ap.add_argument("--seeds", default="10", help="N (seeds 0 to N-1) or A-B (seeds A to B-1)")
    ap.add_argument("--samplers", default="tpe,nsga2,random")
    args = ap.parse_args()
    first, _, last = args.seeds.partition("-")
    seeds = range(int(first), int(last)) if last else range(int(first))
    space, table = load_space(str(ROOT / "spaces" / "thesis.yaml")), json.loads(TABLE.read_text())
    for b in (float(x) for x in args.budget_ms.split(",")):
        table_for(space, table, b, seeds, args.samplers.split(","))


def table_for(space, table, b, seeds, samplers):
    every = feasible(list(table.values()), b)
    best, ref = max(m for m, _ in every), hypervolume(every, b)
    third = len(table) // 3
    print(f"\nThesis grid: {len(table)} configurations, {sum(r['status'] == 'ok' for r in table.values())} valid, "
          f"{len(every)} within median_ms <= {b:g}; best MACs {best:,}; each run gets {third} distinct "
          f"configurations (a third), seeds {seeds.start}-{seeds.stop - 1}.\n")
    print("| sampler | objectives | runs within 2% | median | worst | mean trials evaluated |")
    print("|---|---|---|---|---|---|")
    one_obj, two_obj = (Objective("macs", True),), (Objective("macs", True), Objective("median_ms", False))
    for sampler in samplers:
        for label, objs in (("MACs (best / exhaustive best)", one_obj),
                            ("MACs, latency (front hypervolume / exhaustive)", two_obj)):
            scores, asked = [], []
            for seed in seeds:
                found, n = one(space, table, sampler, objs, third, seed, b)
                scores.append(max((m for m, _ in found), default=0) / best if len(objs) == 1
                              else hypervolume(found, b) / ref)
                asked.append(n)
            print(f"| {sampler} | {label} | {sum(s >= 0.98 for s in scores)}/{len(scores)} | "
                  f"{statistics.median(scores):.4f} | {min(scores):.4f} | {statistics.mean(asked):.0f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
