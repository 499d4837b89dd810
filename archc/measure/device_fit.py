"""A device's latency model from end-to-end timings alone (no profiler, no SSH): the costs of
archc/measure/latency_model.py, their kinds tied into a few groups that a dozen or two timings can
pin down, fitted by non-negative least squares on relative errors, under a roofline.

    archc latency fit fastscnn --measurements pi4.csv --out pi4.json

The form follows what an inference runtime such as ONNX Runtime does on a CPU:
  offset          ms per inference (session run, input copy, thread wake-up)
  per_op          ms per executed op: batch norm, activations and dropout fold into the conv
                  before them (ORT fuses conv+BN+ReLU), every other node is a dispatch
  depthwise_macs  ms per MMAC of depthwise convs (one channel at a time: few MACs per byte)
  conv_bytes      ms per MB that convs read and write (activations and weights, float32)
  memory_bytes    ms per MB of the pure memory ops (add, resize, concat, pooling, ...)
  and a roofline for the GEMM-shaped convs (1x1 and kxk via im2col, grouped, linear): such a layer
  costs conv_bytes per MB of max(its bytes, bytes_per_mac x its MACs), i.e. it is bound by memory
  or by arithmetic, whichever takes longer; dense_macs = conv_bytes x bytes_per_mac is then its
  cost per MMAC when bound by arithmetic. bytes_per_mac is the one value not fitted by least
  squares: each of RIDGES is tried and the one with the least error on the fit's own rows is kept.
Five costs, each >= 0, and the ridge. Small networks are dominated by offset, per_op and the
weights' bytes, large ones by the MACs, so one form spans the thesis's 11.7-239 ms. Each row is
divided by its measured time, so the fit minimises relative error, as MAPE counts it.

Why the roofline: without it (one linear cost per dense MAC and one per byte, "grouped/1"),
Fast-SCNN's dense work is 1x1 convs whose MACs grow with the bytes they move, so a fit on it could
put the whole cost on bytes (on this machine: dense MACs cost 0), and networks of 3x3 convs (9x
the MACs per byte) were priced at a third to a half of their time (benchmarks/device_fit.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archc.measure import latency_model as lm

PARAMS = ("offset", "per_op", "depthwise_macs", "conv_bytes", "memory_bytes")
UNITS = {"offset": "ms", "per_op": "ms per op", "depthwise_macs": "ms per MMAC", "conv_bytes": "ms per MB",
         "memory_bytes": "ms per MB", "bytes_per_mac": "dense convs: bytes a MAC counts as (roofline)",
         "dense_macs": "ms per MMAC of a dense conv bound by arithmetic (conv_bytes x bytes_per_mac)"}
# the roofline's ridges tried, in bytes per MAC: 10 a decade from 0.01 (a conv is bound by arithmetic above
# 100 MACs per byte) to 10 (above 0.1), wider than any CPU's ridge (a Pi 4 core about 1-4, an x86 core 5-20)
RIDGES = tuple(float(f"{r:.4g}") for r in np.geomspace(0.01, 10, 31))
FUSED = frozenset({"bn", "act", "dropout", "identity", "flatten"})  # no node of their own after ORT's fusions
DENSE = frozenset({"conv_1x1", "conv_kxk", "conv_grouped", "deconv", "linear"})
CONV_KINDS = ("conv_1x1", "conv_kxk", "conv_depthwise", "conv_grouped")
MIN_ROWS = 4  # below this no held-out error can be reported
FORM = "roofline/1"


def group(kind: str) -> str:
    """fused, dense, depthwise or memory: which costs an op kind takes."""
    if kind in FUSED:
        return "fused"
    if kind == "conv_depthwise":
        return "depthwise"
    return "dense" if kind in DENSE else "memory"


def roofline(bytes_per_mac: float) -> dict:
    return {"kinds": sorted(DENSE), "bytes_per_mac": bytes_per_mac}


def design(totals: dict) -> np.ndarray:
    """A graph's kind totals (latency_model.kind_totals, with the model's roofline) as the columns of PARAMS."""
    x = np.zeros(len(PARAMS))
    x[0] = 1.0
    for kind, (layers, macs, moved) in totals.items():
        g = group(kind)
        if g == "fused":
            continue
        x[1] += layers
        if g == "memory":
            x[4] += moved * 1e-6
        else:
            x[2] += macs * 1e-6 if g == "depthwise" else 0.0  # a dense conv's MACs count through its roofed bytes
            x[3] += moved * 1e-6
    return x


@dataclass(frozen=True)
class Rows:
    """The configurations of a fit: each one's layers (latency_model.layer_features) and measured ms."""
    layers: list
    ms: np.ndarray

    def x(self, ridge: float, which=slice(None)) -> np.ndarray:
        return np.array([design(lm.totals_of(self.layers[i], roofline(ridge)))
                         for i in np.arange(len(self.ms))[which]]).reshape(-1, len(PARAMS))


def solve(x: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """Non-negative costs minimising the summed squared relative error."""
    return lm.nnls(x / ms[:, None], np.ones(len(ms)))


def fit_rows(rows: Rows, which=slice(None)) -> tuple[float, np.ndarray]:
    """(the ridge, the costs) of the least summed squared relative error on these rows; a tie keeps
    the lower ridge (the one that counts fewer layers as bound by arithmetic)."""
    ms, best = rows.ms[which], None
    for ridge in RIDGES:
        x = rows.x(ridge, which)
        coef = solve(x, ms)
        err = float(np.sum((x @ coef / ms - 1) ** 2))
        if best is None or err < best[0] * (1 - 1e-9):
            best = (err, ridge, coef)
    return best[1], best[2]


def predict_rows(rows: Rows, ridge: float, coef: np.ndarray, which=slice(None)) -> np.ndarray:
    return rows.x(ridge, which) @ coef


def to_model(coef, ridge: float, meta: dict) -> lm.LatencyModel:
    """The fitted group costs as a latency model: every op kind's costs (so another network's kinds
    are priced by their group too), the offset as the model's offset, scale 1, the dense kinds under
    the roofline."""
    c = dict(zip(PARAMS, (round(float(v), 9) for v in coef)))
    kinds = list(CONV_KINDS) + ["resize_unblocked"] + sorted(_ops())
    costs = {}
    for k in kinds:
        g = group(k)
        costs[k] = {"layers": 0.0, "macs": 0.0, "bytes": 0.0} if g == "fused" else {
            "layers": c["per_op"], "macs": c["depthwise_macs"] if g == "depthwise" else 0.0,
            "bytes": c["memory_bytes"] if g == "memory" else c["conv_bytes"]}
    shown = {**c, "bytes_per_mac": ridge, "dense_macs": round(c["conv_bytes"] * ridge, 9)}
    return lm.LatencyModel(costs, 1.0, c["offset"], {**meta, "form": FORM, "group_costs": shown},
                           roofline=roofline(ridge))


def _ops() -> set:
    from archc.ops import OPS

    return set(OPS) - {"input", "conv"}


@dataclass(frozen=True)
class Quality:
    spearman: float | None
    mape: float
    max_error: float  # the largest |predicted - measured| / measured
    worst: str  # the configuration of that largest error

    def to_json(self) -> dict:
        return {"spearman": None if self.spearman is None else round(self.spearman, 4),
                "mape": round(self.mape, 4), "max_error": round(self.max_error, 4), "worst": self.worst}


def quality(predicted, measured, names) -> Quality:
    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    err = np.abs(p - m) / m
    i = int(np.argmax(err))
    return Quality(lm.spearman(p, m) if len(m) > 2 else None, float(err.mean()), float(err[i]), names[i])


def cross_validate(rows: Rows, folds: int | None = None, seed: int = 0) -> np.ndarray:
    """Each row's prediction by a fit without it (its ridge chosen again without it too): leave-one-out
    (folds None) or k-fold."""
    n = len(rows.ms)
    order = np.random.default_rng(seed).permutation(n) if folds else np.arange(n)
    held = [order[f::folds] for f in range(folds)] if folds else [[i] for i in range(n)]
    out = np.zeros(n)
    for rows_ in held:
        keep = np.ones(n, bool)
        keep[rows_] = False
        ridge, coef = fit_rows(rows, keep)
        out[~keep] = predict_rows(rows, ridge, coef, ~keep)  # in index order, as the mask selects
    return out


def support(x: np.ndarray) -> list[str]:
    """Why these rows cannot pin the costs down (empty: they can)."""
    n, why = len(x), []
    if n < 2 * (len(PARAMS) + 1):
        why.append(f"{n} configurations for {len(PARAMS) + 1} costs (five and the roofline's ridge; 12 or more "
                   f"give a trustworthy fit)")
    absent = [p for p, col in zip(PARAMS, x.T) if not col.any()]
    if absent:
        why.append(f"no row exercises {', '.join(absent)} (those costs stay 0)")
    used = x[:, [i for i, col in enumerate(x.T) if col.any()]]
    scaled = used / np.abs(used).max(axis=0)
    if np.linalg.matrix_rank(scaled, tol=1e-6) < used.shape[1]:
        why.append("the configurations vary too little to tell the costs apart (vary width, input and depth)")
    return why


def fit_measurements(spec, path, variables: dict | None = None) -> tuple[lm.LatencyModel, list[str]]:
    """Compile every configuration of the measurements file, fit, cross-validate: (the model, the
    reasons its rows cannot support it, empty when they can). Its meta says what it was fitted on
    and its leave-one-out and 5-fold errors."""
    from archc.compile import compile_spec
    from archc.errors import ArchcError
    from archc.measure import measurements

    from archc.lang.library import resolve_spec

    spec = resolve_spec(spec)
    rows = measurements.read(path)
    if len(rows) < MIN_ROWS:
        raise ArchcError(f"{path}: {len(rows)} distinct configurations; time at least {MIN_ROWS} "
                         f"(12 or more for a trustworthy fit)")
    layers = []
    for m in rows:
        try:
            layers.append(lm.layer_features(compile_spec(spec, list(m.passes), None, variables or {}).graph))
        except ArchcError as exc:
            raise ArchcError(f"{path}:{m.lines[0]}: {m.config}: {exc.message}") from None
    data, names = Rows(layers, np.array([m.latency_ms for m in rows])), [m.config for m in rows]
    meta = {"device": {"host": str(path), "cpu": "from end-to-end measurements"}, "fitted_on": {
        "spec": spec.stem, "measurements": str(path), "rows": sum(len(m.lines) for m in rows),
        "configurations": len(rows), "source": _source(path)}}
    ridge, coef = fit_rows(data)
    model, ms = to_model(coef, ridge, meta), data.ms
    model.meta["fit"] = {"train": quality(predict_rows(data, ridge, coef), ms, names).to_json(),
                         "loo": quality(cross_validate(data), ms, names).to_json(),
                         "kfold5": quality(cross_validate(data, 5), ms, names).to_json() if len(ms) >= 10 else None,
                         "repeat_spread": _spread(rows)}
    return model, support(data.x(ridge))


def _spread(rows) -> float | None:
    """The largest relative spread (max - min) / mean among repeated configurations (the device's own)."""
    spreads = [(max(m.times) - min(m.times)) / m.latency_ms for m in rows if len(m.times) > 1]
    return round(max(spreads), 4) if spreads else None


def _source(path) -> str:
    """The file's leading comment up to its first full stop at a line's end (its citation), joined."""
    from pathlib import Path

    head = []
    for line in Path(path).read_text(errors="replace").splitlines():
        if not line.startswith("#"):
            break
        head.append(line.lstrip("# ").strip())
        if head[-1].endswith("."):
            break
    return " ".join(head)
