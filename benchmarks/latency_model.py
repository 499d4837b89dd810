"""How well archc's latency model predicts configurations it was not fitted on, for
benchmarks/latency_model.md: probe configurations of the thesis grid spanning widths, expands
and input sizes (96..512 px) are profiled per layer in ONNX Runtime on this machine, and
held-out configurations drawn at random from the rest of the grid are timed end to end, all in
one process with their runs interleaved (so a changing load hits probes and held-out models
alike). The model is fitted on the probes only; the baseline is MACs alone (end-to-end ms =
a * MACs + b, fitted on the same probes' end-to-end medians).

    python benchmarks/latency_model.py --held-out 24 --runs 30 --raw /tmp/latency_raw.json
    python benchmarks/latency_model.py --from /tmp/latency_raw.json     # refit, nothing timed
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess

import numpy as np

from archc.compile import compile_spec
from archc.ir.analysis import analyze
from archc.measure import latency_model as lm
from archc.measure.targets import Target
from archc.measure.timing import Timing
from archc.sweep.latency_fit import Probing, fit_probes, probe
from archc.sweep.sweep import Sweep, configurations, passes_of

SPEC = "specs/fastscnn.yaml"
THESIS = {"width": ["1", "0.75", "0.5", "0.25", "0.125"], "expand": ["6", "4", "2"], "repeat": ["3", "2", "1"],
          "drop": ["none", "ppm"], "input": [f"3x{s}x{s}" for s in (512, 256, 224, 192, 160, 128, 96)]}
WIDTHS = ["1", "0.5", "0.25", "0.125"]
# with the PPM kept the smallest valid input is 256 (its 6-bin pool needs a 6x6 map); below it, drop=ppm
PROBES = [{"width": w, "expand": e, "repeat": r, "drop": d, "input": f"3x{s}x{s}"}
          for w in WIDTHS for e, r in (("6", "3"), ("2", "1"))
          for d, sizes in (("none", (512, 256)), ("ppm", (224, 128, 96))) for s in sizes]


def held_out(n: int, seed: int, probes: list[dict]) -> list[dict]:
    """`n` valid thesis-grid configurations not among the probes, drawn with `seed`."""
    taken = {" ".join(passes_of(k)) for k in probes}
    ok = [r for r in Sweep(SPEC, THESIS).run() if r.status == "ok" and r.config not in taken]
    return [r.knobs for r in random.Random(seed).sample(ok, n)]


def measure(a) -> dict:
    """Time probes (per layer) and held-out models (end to end) interleaved; the raw figures."""
    tests = held_out(a.held_out, a.seed, PROBES)
    load = [uptime()]
    how = Probing(Timing(1, a.runs, a.warmup), plain=tuple(tests), keep=a.keep and _folder(a.keep))
    timed = probe(SPEC, PROBES, Target(per_layer=True), how)
    load.append(uptime())
    knobs = PROBES + tests  # probe() keeps the order; every probe and held-out configuration is valid
    assert len(timed) == len(knobs), "a configuration was refused"
    rows = [{"knobs": k, "config": t.config, "median_ms": t.profile["median_ms"], "p90_ms": t.profile["p90_ms"],
             "cpu_median_ms": t.profile["cpu_median_ms"],
             "layers": {l["name"]: l["ms"] for l in t.profile.get("layers", [])},
             "node_sum_ms": t.profile.get("node_sum_ms")} for k, t in zip(knobs, timed)]
    return {"uptime": load, "runs": a.runs, "warmup": a.warmup, "device": timed[0].profile["device"],
            "probes": rows[:len(PROBES)], "held_out": rows[len(PROBES):]}


def _folder(path: str):
    from pathlib import Path

    Path(path).mkdir(parents=True, exist_ok=True)
    return Path(path)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


class Timed:
    """A measured configuration as latency_fit.Probe sees it (graph recompiled: cheap)."""

    def __init__(self, row: dict):
        self.config, self.graph = row["config"], compile_spec(SPEC, passes_of(row["knobs"]), None, {}).graph
        self.profile = {"median_ms": row["median_ms"], "cpu_median_ms": row.get("cpu_median_ms"),
                        "runtime": "onnxruntime", "threads": 1,
                        "layers": [{"name": n, "ms": ms} for n, ms in row["layers"].items()]}


def evaluate(raw: dict, key: str) -> dict:
    """Fit on the probes' `key` (median_ms: wall clock, or cpu_median_ms), predict the held-out ones."""
    probes, tests = [Timed(r) for r in raw["probes"]], [Timed(r) for r in raw["held_out"]]
    model = fit_probes(probes, key)
    measured = np.array([t.profile[key] for t in tests])
    macs = lambda ts: [analyze(t.graph).macs for t in ts]  # noqa: E731
    line = np.polyfit(macs(probes), [p.profile[key] for p in probes], 1)
    preds = {"latency model": np.array([model.predict(t.graph) for t in tests]),
             "MACs only (a*MACs + b)": np.polyval(line, macs(tests))}
    return {"model": model, "measured": measured, "preds": preds, "macs": macs(tests), "tests": tests}


def report(raw: dict, ev: dict, key: str) -> None:
    m = ev["measured"]
    print(f"\n## calibrated to and measured as {key}\n")
    print("| predictor | Spearman | MAPE | max abs % error |\n|---|---|---|---|")
    for name, pred in ev["preds"].items():
        print(f"| {name} | {lm.spearman(pred, m):.3f} | {lm.mape(pred, m):.1%} | {(np.abs(pred - m) / m).max():.1%} |")
    print(f"| MACs rank alone | {lm.spearman(ev['macs'], m):.3f} | - | - |\n")
    print("| held-out configuration | MMACs | measured ms | model ms | MACs-only ms |\n|---|---|---|---|---|")
    for t, mm, ms, p, b in zip(ev["tests"], ev["macs"], m, *ev["preds"].values()):
        print(f"| {t.config} | {mm / 1e6:.1f} | {ms:.2f} | {p:.2f} | {b:.2f} |")
    cal = {k: round(getattr(ev["model"], k), 4) for k in ("scale", "fixed_scale", "offset")}
    print("\nfit on the probes:", json.dumps(ev["model"].meta["fit"]), "calibration", json.dumps(cal))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--held-out", type=int, default=24)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--raw", default="/tmp/latency_model_raw.json", help="where the measured figures go")
    p.add_argument("--from", dest="from_", help="refit measured figures from this file; time nothing")
    p.add_argument("--keep", default="/tmp/latency_model_onnx", help="exported models kept here, reused")
    a = p.parse_args()
    if a.from_:
        raw = json.load(open(a.from_))
    else:
        raw = measure(a)
        with open(a.raw, "w") as f:
            json.dump(raw, f, indent=1)
    print(f"load: `{raw['uptime'][0]}` -> `{raw['uptime'][1]}`")
    print(f"{len(raw['probes'])} probes, {len(raw['held_out'])} held out; {raw['runs']} runs after {raw['warmup']} warmup")
    for key in ("cpu_median_ms", "median_ms"):
        if all(r.get(key) is not None for r in raw["probes"] + raw["held_out"]):
            report(raw, evaluate(raw, key), key)


if __name__ == "__main__":
    main()
