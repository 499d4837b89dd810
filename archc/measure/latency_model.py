"""A latency model: per-op-kind costs fitted on per-layer profiles, predicting a network's
latency from its IR alone (numpy only: no export, no onnxruntime, nothing runs).

    archc latency fit specs/fastscnn.yaml --out cpu.json          # profiles probe configurations
    archc summary specs/fastscnn.yaml --pass width=0.5 --latency-model cpu.json
    archc sweep specs/fastscnn.yaml --grid width=1,0.5 --latency-model cpu.json

Each layer's time is `c0 + c1 * MACs + c2 * bytes moved` with coefficients of its kind
(dense, pointwise, depthwise and grouped convs apart, since equal MACs do not cost the same:
depthwise convs move more bytes per MAC), fitted by non-negative least squares on layer
times from ORT's profiler. The per-layer sum is then scaled to end-to-end latency by one
ratio over the probe models (their geometric mean), because the profiler's per-node
times do not add up to what an unprofiled run takes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from math import prod
from pathlib import Path

import numpy as np

from archc.errors import ArchcError
from archc.ir.analysis import analyze

FORMAT = "archc-latency-model/3"  # /3 added roofline, /2 fixed_scale; /2 and /1 files still load
FORMATS = (FORMAT, "archc-latency-model/2", "archc-latency-model/1")
FEATURES = ("layers", "macs", "bytes")  # per kind: a fixed cost per layer, per MAC, per byte moved
SCALE = {"layers": 1.0, "macs": 1e-6, "bytes": 1e-6}  # ms per (layer, MMAC, MB): well-conditioned columns


BLOCK = 8  # ORT's NCHWc channel block on AVX2: a resize of a multiple of it runs in the blocked layout


def kind(node, in_shapes) -> str:
    """The op kind a cost is fitted for: convs split by how they use their MACs; resizes by whether
    their channels fill NCHWc blocks (on this machine the classifier's final 19-channel resize cost
    about 12x more per byte than the 8k-channel upsample in the fusion module)."""
    if node.op == "resize" and node.shape[0] % BLOCK:
        return "resize_unblocked"
    if node.op != "conv":
        return node.op
    k, g, cin = node.attrs.get("k", 1), node.attrs.get("groups", 1), in_shapes[0][0]
    if g > 1:
        return "conv_depthwise" if g == cin else "conv_grouped"
    return "conv_1x1" if k in (1, [1, 1], (1, 1)) else "conv_kxk"


def layer_features(graph) -> list[tuple[str, str, np.ndarray]]:
    """(layer name, kind, [1, MACs, bytes]) for every layer of `graph` (bytes: float32 in + out + weights)."""
    layers = {l.name: l for l in analyze(graph).layers}
    out = []
    for node in graph:
        if node.op == "input" or node.name not in layers:
            continue
        ins = [graph.shape(s) for s in node.inputs]
        moved = 4 * (sum(prod(s) for s in ins) + prod(node.shape) + layers[node.name].weights)
        out.append((node.name, kind(node, ins), np.array([1.0, layers[node.name].macs, moved])))
    return out


def kind_totals(graph, roofline: dict | None = None) -> dict:
    """Kind -> summed features: all a prediction needs of a graph (see `roofed` for `roofline`)."""
    return totals_of(layer_features(graph), roofline)


def totals_of(layers: list, roofline: dict | None = None) -> dict:
    """Kind -> summed features of `layer_features`' rows."""
    totals: dict = {}
    for _, k, f in layers:
        totals[k] = totals.get(k, 0) + roofed(k, f, roofline)
    return totals


def roofed(kind_: str, f: np.ndarray, roofline: dict | None) -> np.ndarray:
    """A layer's features under a roofline ({"kinds": [...], "bytes_per_mac": r}): a layer of those kinds
    counts max(bytes, r * MACs) bytes, since it takes as long as its memory traffic or its arithmetic,
    whichever is longer (Williams et al., 2009), so its cost per byte prices both sides: a 1x1 conv of
    a few channels is bound by its bytes, a 3x3 conv of 256 by its MACs. Without one, unchanged."""
    if not roofline or kind_ not in roofline["kinds"]:
        return f
    return np.array([f[0], f[1], max(f[2], roofline["bytes_per_mac"] * f[1])])


@dataclass
class LatencyModel:
    costs: dict  # kind -> {"layers": ms per layer, "macs": ms per MMAC, "bytes": ms per MB}
    scale: float = 1.0  # end-to-end ms = scale * work + fixed_scale * fixed + offset (see parts)
    offset: float = 0.0
    meta: dict = field(default_factory=dict)  # device, runtime, threads, probes, fit quality
    fixed_scale: float | None = None  # None: `scale` (one ratio for both parts)
    roofline: dict | None = None  # {"kinds": [...], "bytes_per_mac": r}: see `roofed` (None: bytes as moved)

    def predict(self, graph) -> float:
        """Predicted end-to-end median ms of `graph` on the device the model was fitted on."""
        return self.calibrated(kind_totals(graph, self.roofline))

    def calibrated(self, totals: dict) -> float:
        fixed, work = self.parts(totals)
        return self.scale * work + (self.scale if self.fixed_scale is None else self.fixed_scale) * fixed + self.offset

    def parts(self, totals: dict) -> tuple[float, float]:
        """(summed fixed per-layer ms, summed per-MAC and per-byte ms) of a graph's kind totals."""
        terms = np.array([_scaled(f) * [self.costs.get(k, {}).get(n, 0.0) for n in FEATURES]
                          for k, f in totals.items()]).reshape(-1, len(FEATURES)).sum(axis=0)
        return float(terms[0]), float(terms[1:].sum())

    def layer_ms(self, graph) -> dict:
        """Layer name -> its calibrated ms: these add up to predict(graph) less `offset` (a per-run cost
        of no layer)."""
        fixed_scale = self.scale if self.fixed_scale is None else self.fixed_scale
        out = {}
        for name, k, f in layer_features(graph):
            terms = _scaled(roofed(k, f, self.roofline)) * [self.costs.get(k, {}).get(n, 0.0) for n in FEATURES]
            out[name] = float(fixed_scale * terms[0] + self.scale * terms[1:].sum())
        return out

    def layer_sum(self, totals: dict) -> float:
        return sum(self.parts(totals))

    def to_json(self) -> dict:
        roof = {"roofline": self.roofline} if self.roofline else {}
        return {"format": FORMAT, "costs": self.costs, "scale": self.scale, "fixed_scale": self.fixed_scale,
                "offset": self.offset, **roof, **self.meta}

    @classmethod
    def from_json(cls, data: dict) -> "LatencyModel":
        meta = {k: v for k, v in data.items()
                if k not in ("format", "costs", "scale", "fixed_scale", "offset", "roofline")}
        fixed = data.get("fixed_scale")
        return cls(data["costs"], float(data["scale"]), float(data["offset"]), meta,
                   None if fixed is None else float(fixed), data.get("roofline"))

    def save(self, path) -> None:
        from archc.fs import atomic_file

        with atomic_file(Path(path)) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n")


def _scaled(f) -> np.ndarray:
    return np.asarray(f, dtype=float) * [SCALE[n] for n in FEATURES]


def shipped() -> dict:
    """Device models that ship with archc (archc/devices/*.json): name -> file."""
    from importlib import resources

    root = Path(str(resources.files("archc").joinpath("devices")))
    return {p.stem: p for p in sorted(root.glob("*.json"))}


def resolve(arg) -> Path:
    """--latency-model: an existing file as given, else a shipped device's name (`archc devices`)."""
    path, names = Path(arg), shipped()
    if path.exists() or str(arg) not in names:
        if not path.exists() and not path.suffix and len(path.parts) == 1:
            raise ArchcError(f"--latency-model {arg}: no such file and no shipped device of that name "
                             f"(shipped: {', '.join(names) or 'none'}; see archc devices)")
        return path
    return names[str(arg)]


def load(path) -> LatencyModel:
    """A model written by `archc latency fit`, or a shipped device's name; anything else is one line
    naming the file."""
    path = resolve(path)
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ArchcError(f"--latency-model {path}: cannot read it ({exc.strerror})") from exc
    except ValueError as exc:
        raise ArchcError(f"--latency-model {path}: not JSON ({exc}); write one with archc latency fit") from exc
    if not isinstance(data, dict) or data.get("format") not in FORMATS:
        raise ArchcError(f"--latency-model {path}: not a latency model (no \"format\": \"{FORMAT}\"); "
                         f"write one with archc latency fit")
    _check_fields(path, data)
    return LatencyModel.from_json(data)


def _check_fields(path, data: dict) -> None:
    """Every field predict() reads, of the right kind: a damaged or hand-edited file is one line, not a KeyError."""
    costs = data.get("costs")
    if not isinstance(costs, dict) or not all(isinstance(c, dict) and all(isinstance(v, (int,
                                                                                         float)) for v in c.values())
                                              for c in costs.values()):
        raise ArchcError(f"--latency-model {path}: \"costs\" is missing or not {{kind: {{feature: ms}}}}; "
                         f"write the file again with archc latency fit")
    for key in ("scale", "offset") + (("fixed_scale",) if data.get("fixed_scale") is not None else ()):
        if not isinstance(data.get(key), (int, float)) or isinstance(data.get(key), bool):
            raise ArchcError(f"--latency-model {path}: \"{key}\" is missing or not a number; write the file "
                             f"again with archc latency fit")
    roof = data.get("roofline")
    ridge = roof.get("bytes_per_mac") if isinstance(roof, dict) else None
    kinds = roof.get("kinds") if isinstance(roof, dict) else None
    if roof is not None and not (isinstance(kinds, list) and isinstance(ridge, (int, float)) and ridge >= 0):
        raise ArchcError(f"--latency-model {path}: \"roofline\" is not {{\"kinds\": [...], \"bytes_per_mac\": number "
                         f">= 0}}; write the file again with archc latency fit")


def nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least squares by dropping the most negative column until none is left
    (a few columns per kind; a cost cannot be negative)."""
    active = list(range(a.shape[1]))
    x = np.zeros(a.shape[1])
    while active:
        sol = np.linalg.lstsq(a[:, active], b, rcond=None)[0]
        if (sol >= 0).all():
            x[active] = sol
            break
        active.pop(int(np.argmin(sol)))
    return x


def fit(layer_samples: list, model_samples: list, meta: dict | None = None) -> LatencyModel:
    """layer_samples: (kind, features, measured ms) per profiled layer; model_samples:
    (kind totals, end-to-end median ms) per probe model."""
    costs = {}
    for k in sorted({s[0] for s in layer_samples}):
        rows = [(_scaled(f), ms) for kk, f, ms in layer_samples if kk == k]
        a, b = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
        costs[k] = dict(zip(FEATURES, (round(float(c), 9) for c in nnls(a, b))))
    model = LatencyModel(costs, meta=dict(meta or {}))
    calibrate(model, model_samples)
    return model


def calibrate(model: LatencyModel, model_samples: list) -> None:
    """Per-layer profiles to end-to-end medians: end-to-end = scale * work + fixed_scale * fixed
    + offset, all >= 0, by least squares on relative errors (each probe's row divided by its
    median), since the profiler's cost per node inflates the fixed part and not the work. With
    fewer than 4 probes, one ratio for both parts (the geometric mean)."""
    parts = np.array([model.parts(t) for t, _ in model_samples]).reshape(-1, 2)
    ms = np.array([m for _, m in model_samples], dtype=float)
    ok = (parts.sum(axis=1) > 0) & (ms > 0)
    if ok.sum() >= 4:
        a = np.column_stack([parts[ok, 1], parts[ok, 0], np.ones(ok.sum())]) / ms[ok, None]
        scale, fixed, offset = nnls(a, np.ones(ok.sum()))
        if scale > 0:
            model.scale, model.fixed_scale, model.offset = float(scale), float(fixed), float(offset)
            return
    if ok.any():  # one ratio, the geometric mean: relative errors count alike for small and large models
        model.scale = float(np.exp(np.mean(np.log(ms[ok] / parts[ok].sum(axis=1)))))


def spearman(a, b) -> float:
    """Rank correlation (ties broken by order; latencies rarely tie)."""
    ra, rb = (np.argsort(np.argsort(np.asarray(v))) for v in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1])


def mape(predicted, measured) -> float:
    p, m = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    return float(np.mean(np.abs(p - m) / m))
