"""A device's latency model from end-to-end timings alone (no profiler, no SSH): the costs of
archc/measure/latency_model.py, their kinds tied into a few groups that a dozen or two timings can
pin down, fitted by non-negative least squares on relative errors.

    archc latency fit fastscnn --measurements pi4.csv --out pi4.json

The form follows what an inference runtime such as ONNX Runtime does on a CPU:
  offset          ms per inference (session run, input copy, thread wake-up)
  per_op          ms per executed op: batch norm, activations and dropout fold into the conv
                  before them (ORT fuses conv+BN+ReLU), every other node is a dispatch
  dense_macs      ms per MMAC of GEMM-shaped work (1x1 and kxk convs via im2col, grouped, linear)
  depthwise_macs  ms per MMAC of depthwise convs (one channel at a time: few MACs per byte)
  conv_bytes      ms per MB that convs read and write (activations and weights, float32)
  memory_bytes    ms per MB of the pure memory ops (add, resize, concat, pooling, ...)
Six costs, each >= 0. Small networks are dominated by offset, per_op and the weights' bytes,
large ones by the MACs, so one form spans the thesis's 11.7-239 ms. Each row is divided by its
measured time, so the fit minimises relative error, as MAPE counts it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archc.measure import latency_model as lm

PARAMS = ("offset", "per_op", "dense_macs", "depthwise_macs", "conv_bytes", "memory_bytes")
UNITS = {"offset": "ms", "per_op": "ms per op", "dense_macs": "ms per MMAC", "depthwise_macs": "ms per MMAC",
         "conv_bytes": "ms per MB", "memory_bytes": "ms per MB"}
FUSED = frozenset({"bn", "act", "dropout", "identity", "flatten"})  # no node of their own after ORT's fusions
DENSE = frozenset({"conv_1x1", "conv_kxk", "conv_grouped", "deconv", "linear"})
CONV_KINDS = ("conv_1x1", "conv_kxk", "conv_depthwise", "conv_grouped")
MIN_ROWS = 4  # below this no held-out error can be reported
FORM = "grouped/1"


def group(kind: str) -> str:
    """fused, dense, depthwise or memory: which costs an op kind takes."""
    if kind in FUSED:
        return "fused"
    if kind == "conv_depthwise":
        return "depthwise"
    return "dense" if kind in DENSE else "memory"


def design(totals: dict) -> np.ndarray:
    """A graph's kind totals (latency_model.kind_totals) as the six columns of PARAMS."""
    x = np.zeros(len(PARAMS))
    x[0] = 1.0
    for kind, (layers, macs, moved) in totals.items():
        g = group(kind)
        if g == "fused":
            continue
        x[1] += layers
        if g == "memory":
            x[5] += moved * 1e-6
        else:
            x[2 if g == "dense" else 3] += macs * 1e-6
            x[4] += moved * 1e-6
    return x


def solve(x: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """Non-negative costs minimising the summed squared relative error."""
    return lm.nnls(x / ms[:, None], np.ones(len(ms)))


def to_model(coef, meta: dict) -> lm.LatencyModel:
    """The fitted group costs as a latency model: every op kind's costs (so another network's kinds
    are priced by their group too), the offset as the model's offset, scale 1."""
    c = dict(zip(PARAMS, (round(float(v), 9) for v in coef)))
    kinds = list(CONV_KINDS) + ["resize_unblocked"] + sorted(_ops())
    costs = {}
    for k in kinds:
        g = group(k)
        costs[k] = {"layers": 0.0, "macs": 0.0, "bytes": 0.0} if g == "fused" else {
            "layers": c["per_op"], "macs": c[f"{g}_macs"] if g != "memory" else 0.0,
            "bytes": c["memory_bytes"] if g == "memory" else c["conv_bytes"]}
    return lm.LatencyModel(costs, 1.0, c["offset"], {**meta, "form": FORM, "group_costs": c})


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


def cross_validate(x: np.ndarray, ms: np.ndarray, folds: int | None = None, seed: int = 0) -> np.ndarray:
    """Each row's prediction by a fit without it: leave-one-out (folds None) or k-fold."""
    n = len(ms)
    order = np.random.default_rng(seed).permutation(n) if folds else np.arange(n)
    held = [order[f::folds] for f in range(folds)] if folds else [[i] for i in range(n)]
    out = np.zeros(n)
    for rows in held:
        keep = np.ones(n, bool)
        keep[rows] = False
        out[rows] = x[rows] @ solve(x[keep], ms[keep])
    return out


def support(x: np.ndarray) -> list[str]:
    """Why these rows cannot pin the six costs down (empty: they can)."""
    n, why = len(x), []
    if n < 2 * len(PARAMS):
        why.append(f"{n} configurations for {len(PARAMS)} costs (12 or more give a trustworthy fit)")
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
    feats = []
    for m in rows:
        try:
            feats.append(design(lm.kind_totals(compile_spec(spec, list(m.passes), None, variables or {}).graph)))
        except ArchcError as exc:
            raise ArchcError(f"{path}:{m.lines[0]}: {m.config}: {exc.message}") from None
    x, ms, names = np.array(feats), np.array([m.latency_ms for m in rows]), [m.config for m in rows]
    meta = {"device": {"host": str(path), "cpu": "from end-to-end measurements"}, "fitted_on": {
        "spec": spec.stem, "measurements": str(path), "rows": sum(len(m.lines) for m in rows),
        "configurations": len(rows), "source": _source(path)}}
    model = to_model(solve(x, ms), meta)
    model.meta["fit"] = {"train": quality(x @ solve(x, ms), ms, names).to_json(),
                         "loo": quality(cross_validate(x, ms), ms, names).to_json(),
                         "kfold5": quality(cross_validate(x, ms, 5), ms, names).to_json() if len(ms) >= 10 else None,
                         "repeat_spread": _spread(rows)}
    return model, support(x)


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
