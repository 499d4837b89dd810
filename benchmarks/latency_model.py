"""How well archc's latency model predicts configurations it was not fitted on, for
benchmarks/latency_model.md: fit on a few probe configurations of the thesis grid (per-layer
ORT profiles on this machine), then predict held-out configurations drawn at random from the
rest of the grid and compare with their measured medians; the baseline is MACs alone
(end-to-end ms = a * MACs + b, fitted on the same probes).

    python benchmarks/latency_model.py --held-out 16 --runs 15
"""
from __future__ import annotations

import argparse
import json
import random

import numpy as np

from archc.onnx import latency_model as lm
from archc.onnx.targets import Target
from archc.tools.latency_fit import fit_probes, probe
from archc.tools.sweep import Sweep, configurations

SPEC = "specs/fastscnn.yaml"
THESIS = {"width": ["1", "0.75", "0.5", "0.25", "0.125"], "expand": ["6", "4", "2"], "repeat": ["3", "2", "1"],
          "drop": ["none", "ppm"], "input": [f"3x{s}x{s}" for s in (512, 256, 224, 192, 160, 128, 96)]}
PROBES = {"width": ["1", "0.5", "0.125"], "expand": ["6", "2"], "repeat": ["3"], "drop": ["none"],
          "input": ["3x512x512", "3x192x192"]}


def held_out(n: int, seed: int, probes: set) -> list[dict]:
    """`n` valid thesis-grid configurations not among the probes, drawn with `seed`."""
    ok = [r for r in Sweep(SPEC, THESIS).run() if r.status == "ok" and r.config not in probes]
    return [r.knobs for r in random.Random(seed).sample(ok, n)]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--held-out", type=int, default=16)
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="/tmp/latency_model_results.json")
    a = p.parse_args()
    timing = {"threads": 1, "warmup": a.warmup, "runs": a.runs}
    fitted = probe(SPEC, configurations(PROBES), Target(per_layer=True), **timing)
    model = fit_probes(fitted)
    tests = probe(SPEC, held_out(a.held_out, a.seed, {f.config for f in fitted}), Target(), **timing)
    measured = np.array([t.profile["median_ms"] for t in tests])
    predicted = np.array([model.predict(t.graph) for t in tests])
    macs_fit = np.polyfit([lm.analyze(f.graph).macs for f in fitted], [f.profile["median_ms"] for f in fitted], 1)
    baseline = np.polyval(macs_fit, [lm.analyze(t.graph).macs for t in tests])
    print("| predictor | Spearman | MAPE | max abs % error |\n|---|---|---|---|")
    for name, pred in (("latency model (per-kind costs)", predicted), ("MACs only (a*MACs + b)", baseline)):
        err = np.abs(pred - measured) / measured
        print(f"| {name} | {lm.spearman(pred, measured):.3f} | {lm.mape(pred, measured):.1%} | {err.max():.1%} |")
    print(f"| MACs rank alone | {lm.spearman([lm.analyze(t.graph).macs for t in tests], measured):.3f} | - | - |")
    rows = [{"config": t.config, "macs": lm.analyze(t.graph).macs, "measured_ms": m, "predicted_ms": round(pr, 3),
             "macs_only_ms": round(b, 3)} for t, m, pr, b in zip(tests, measured, predicted, baseline)]
    probes = [{"config": f.config, "measured_ms": f.profile["median_ms"], "predicted_ms": model.predict(f.graph),
               "layers": f.profile["layers"]} for f in fitted]
    with open(a.out, "w") as f:
        json.dump({"model": model.to_json(), "held_out": rows, "probes": probes}, f, indent=1)
    for r in rows:
        print(f"| {r['config']} | {r['macs'] / 1e6:.1f} | {r['measured_ms']:.2f} | {r['predicted_ms']:.2f} | "
              f"{r['macs_only_ms']:.2f} |")


if __name__ == "__main__":
    main()
