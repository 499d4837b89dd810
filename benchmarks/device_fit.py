"""How well a device model fitted on end-to-end timings alone (`archc latency fit --measurements`,
archc/measure/device_fit.py) predicts configurations it was not fitted on, for benchmarks/device_fit.md.

    python benchmarks/device_fit.py pi                 # the thesis's Raspberry Pi 4 rows: LOO, 5-fold, 13 rows -> rest
    python benchmarks/device_fit.py local --raw /tmp/device_fit_raw.json   # time here, then fit 12 -> predict 24
    python benchmarks/device_fit.py local --from /tmp/device_fit_raw.json  # refit, nothing timed

`local`: 36 Fast-SCNN variants of the thesis grid (drawn with a seed) and 12 models of three other
networks (MobileNetV2, DeepLabV3+ on MobileNetV2, BiSeNetV2 at two widths and two sizes) are exported
and timed in ONE process, their runs interleaved (archc.measure.runner.run_many), 1 thread; the figure
is each model's median CPU time per run (the run's own CPU time, without waits for a core on a shared
machine). The first 12 Fast-SCNN variants are the fit's rows; the other 24 and the other networks are
predicted.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archc.compile import compile_spec  # noqa: E402
from archc.measure import device_fit as df  # noqa: E402
from archc.measure import latency_model as lm  # noqa: E402
from archc.measure import measurements  # noqa: E402

PI = Path(__file__).resolve().parent.parent / "archc" / "devices" / "fastscnn_rpi4_thesis.csv"
SPEC = "specs/fastscnn.yaml"
GRID = {"width": ["1", "0.75", "0.5", "0.25"], "expand": ["6", "4", "2"], "repeat": ["3", "2", "1"],
        "drop": ["none", "ppm"], "input": ["3x384x384", "3x320x320", "3x256x256", "3x192x192", "3x128x128"]}
OTHERS = [(spec, [f"width={w}", f"input=3x{h}x{wd}"]) for spec, sizes in
          (("specs/mobilenetv2.yaml", ((160, 160), (224, 224))),
           ("specs/deeplabv3plus_mobilenetv2.yaml", ((192, 192), (256, 256))),
           ("specs/bisenetv2.yaml", ((256, 512), (384, 768)))) for w in ("1", "0.5") for h, wd in sizes]


def _layers(spec, passes) -> list:
    return lm.layer_features(compile_spec(spec, passes).graph)


def _fit(rows: df.Rows, which) -> tuple[float, np.ndarray]:
    return df.fit_rows(rows, np.asarray(which))


def _predict(rows: df.Rows, fitted, which) -> np.ndarray:
    return df.predict_rows(rows, fitted[0], fitted[1], np.asarray(which))


def _q(p, m, names) -> str:
    q = df.quality(p, m, names)
    rho = "-" if q.spearman is None else f"{q.spearman:.3f}"
    return f"Spearman {rho}, MAPE {q.mape:.1%}, max {q.max_error:.1%} ({q.worst})"


def pi() -> None:
    rows = measurements.read(PI)
    data = df.Rows([_layers(SPEC, list(m.passes)) for m in rows], np.array([m.latency_ms for m in rows]))
    ms, names = data.ms, [m.config for m in rows]
    print(f"{len(rows)} configurations ({sum(len(m.lines) for m in rows)} rows) of {PI.name}")
    print(f"- leave-one-out: {_q(df.cross_validate(data), ms, names)}")
    for seed in (0, 1, 2):
        print(f"- 5-fold (seed {seed}): {_q(df.cross_validate(data, 5, seed), ms, names)}")
    tables = {t: [i for i, m in enumerate(rows) if _table(m) == t] for t in ("4.6", "4.12", "4.15", "4.9")}
    for name, fit_on in (("Table 4.12 (width x expand, 13 rows)", tables["4.12"]),
                         ("Tables 4.6 + 4.15 (input sizes, repeats: 11 rows)", tables["4.6"] + tables["4.15"])):
        keep = np.zeros(len(ms), bool)
        keep[fit_on] = True
        p = _predict(data, _fit(data, keep), np.ones(len(ms), bool))
        print(f"- fit on {name}, predict the other {(~keep).sum()}: {_q(p[~keep], ms[~keep], np.array(names)[~keep])}")
    ridge, coef = df.fit_rows(data)
    print("- costs fitted on all rows: " + ", ".join(f"{k} {v:.4g}" for k, v in zip(df.PARAMS, coef))
          + f", bytes_per_mac {ridge:.4g} (dense_macs {coef[3] * ridge:.4g})")


def _table(m) -> str:
    """The thesis table of a configuration's first row."""
    text = PI.read_text().splitlines()
    return text[m.lines[0] - 1].split(",")[0]


def variants(seed: int = 0) -> list[list[str]]:
    """36 valid Fast-SCNN configurations of GRID, drawn with `seed`."""
    from archc.sweep.sweep import Sweep, passes_of

    ok = [r.knobs for r in Sweep(SPEC, GRID).run() if r.status == "ok"]
    return [passes_of(k) for k in random.Random(seed).sample(ok, 36)]


def time_all(models: list, runs: int, warmup: int) -> dict:
    from archc.measure.targets import profile_many
    from archc.measure.timing import Timing
    from archc.onnx.export import export_onnx

    load = [os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="device-fit-") as tmp:
        paths = []
        for i, (spec, passes) in enumerate(models):
            paths.append(export_onnx(compile_spec(spec, passes).graph, f"{tmp}/{i}.onnx").path)
        results = profile_many([(p, False, None, None) for p in paths], Timing(1, runs, warmup))
    load.append(os.getloadavg())
    return {"load": load, "runs": runs, "warmup": warmup,
            "models": [{"spec": s, "passes": p, "cpu_median_ms": r["cpu_median_ms"], "median_ms": r["median_ms"]}
                       for (s, p), r in zip(models, results)]}


def local(raw: dict) -> None:
    m = raw["models"]
    data = df.Rows([_layers(r["spec"], r["passes"]) for r in m], np.array([r["cpu_median_ms"] for r in m]))
    ms, names = data.ms, np.array([f"{Path(r['spec']).stem} {' '.join(r['passes'])}" for r in m])
    print(f"timed here: {len(m)} models, median of {raw['runs']} interleaved runs after {raw['warmup']}, "
          f"1 thread, CPU ms; load average before/after {raw['load']}")
    n = len(ms)
    rng = np.arange(n)
    fit, test, other = rng < 12, (rng >= 12) & (rng < 36), rng >= 36
    fitted = _fit(data, fit)
    print(f"- fit on 12 Fast-SCNN variants, predict 24 others: {_q(_predict(data, fitted, test), ms[test], names[test])}")
    first = df.Rows(data.layers[:36], ms[:36])
    print(f"- leave-one-out on the 36: {_q(df.cross_validate(first), ms[:36], names[:36])}")
    for label, f in (("12", fitted), ("36", _fit(data, rng < 36))):
        for spec in dict.fromkeys(r["spec"] for r in m[36:]):
            idx = np.array([i >= 36 and m[i]["spec"] == spec for i in range(n)])
            print(f"- cross-architecture, fit on {label} Fast-SCNN rows, predict {Path(spec).stem}: "
                  f"{_q(_predict(data, f, idx), ms[idx], names[idx])}")
        print(f"- all 12 other-network models (fit on {label}): {_q(_predict(data, f, other), ms[other], names[other])}")
    ridge, coef = fitted
    print("- costs (12 rows): " + ", ".join(f"{k} {v:.4g}" for k, v in zip(df.PARAMS, coef))
          + f", bytes_per_mac {ridge:.4g} (dense_macs {coef[3] * ridge:.4g})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("pi", "local"))
    ap.add_argument("--raw", help="write the local timings here")
    ap.add_argument("--from", dest="from_", help="refit the local timings of this file (nothing is timed)")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    if a.what == "pi":
        return pi()
    if a.from_:
        raw = json.loads(Path(a.from_).read_text())
    else:
        raw = time_all([(SPEC, p) for p in variants()] + OTHERS, a.runs, a.warmup)
        if a.raw:
            Path(a.raw).write_text(json.dumps(raw, indent=1))
    local(raw)


if __name__ == "__main__":
    main()
