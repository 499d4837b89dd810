"""`archc latency fit`: profile probe configurations of a spec per layer on a device (this
machine or --host), then fit the per-op-kind costs of archc/onnx/latency_model.py.

    archc latency fit specs/fastscnn.yaml --grid width=1,0.5,0.25,0.125 \\
        --grid input=3x512x512,3x256x256,3x128x128 --host pi@raspberrypi.local --out pi4.json

Exports run in parallel worker processes; timings run one model at a time on the device.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from archc.errors import ArchcError
from archc.onnx import latency_model as lm
from archc.tools.executors import Failed
from archc.tools.sweep import Sweep, _export, configurations, passes_of

DEFAULT_GRID = {"width": ["1", "0.5", "0.25", "0.125"], "input": ["3x512x512", "3x384x384", "3x256x256", "3x192x192"]}


@dataclass
class Probe:
    config: str
    graph: object  # the compiled Graph IR
    profile: dict  # targets.profile_model's result (per layer when fitted)


def compile_valid(spec, configs: list[dict], variables: dict) -> list[tuple[dict, object]]:
    """(knobs, Compiled) for every configuration the passes accept."""
    from archc.compile import compile_spec

    out = []
    for knobs in configs:
        try:
            out.append((knobs, compile_spec(spec, passes_of(knobs), None, variables)))
        except ArchcError:
            continue  # e.g. PPM bins larger than the map: not a network
    if not out:
        raise ArchcError(f"--grid: no configuration of {spec} is valid; widen the grid")
    return out


def probe(spec, configs: list[dict], target, threads: int = 1, warmup: int = 5, runs: int = 20, variables=None,
          jobs: int = 0, progress=None) -> list[Probe]:
    """Export every valid configuration (in parallel), then time each on `target`, one at a time."""
    from archc.onnx.layers import rows_of
    from archc.onnx.targets import profile_model

    variables = variables or {}
    valid = compile_valid(spec, configs, variables)
    with tempfile.TemporaryDirectory(prefix="archc-fit-") as tmp:
        jobs_ = [(str(spec), None, variables, knobs) for knobs, _ in valid]
        models = list(Sweep(str(spec), {}, jobs=jobs)._pool_map(_export, jobs_, progress))
        probes = []
        for i, ((knobs, c), model) in enumerate(zip(valid, models)):
            if isinstance(model, Failed):
                raise ArchcError(f"probe {' '.join(passes_of(knobs))}: export failed twice ({model.reason})")
            path = Path(tmp) / f"{i}.onnx"
            path.write_bytes(model)
            result = profile_model(path, target, threads, warmup, runs, c.report, rows_of(c.graph))
            probes.append(Probe(" ".join(passes_of(knobs)), c.graph, result))
            progress and progress()
    return probes


def samples(probes: list[Probe]) -> tuple[list, list]:
    """Per-layer (kind, features, ms) and per-model (kind totals, end-to-end median ms)."""
    layer_rows, model_rows = [], []
    for p in probes:
        measured = {l["name"]: l["ms"] for l in p.profile.get("layers", [])}
        feats = lm.layer_features(p.graph)
        layer_rows += [(k, f, measured[name]) for name, k, f in feats if name in measured]
        model_rows.append((lm.kind_totals(p.graph), p.profile["median_ms"]))
    return layer_rows, model_rows


def fit_probes(probes: list[Probe]) -> lm.LatencyModel:
    layer_rows, model_rows = samples(probes)
    first = probes[0].profile
    model = lm.fit(layer_rows, model_rows, {"device": first.get("device"), "runtime": first["runtime"],
                                            "threads": first["threads"], "probes": [p.config for p in probes]})
    predicted = [model.predict(p.graph) for p in probes]
    measured = [p.profile["median_ms"] for p in probes]
    model.meta["fit"] = {"mape": round(lm.mape(predicted, measured), 4),
                         "spearman": round(lm.spearman(predicted, measured), 4) if len(probes) > 2 else None}
    return model


def fit_spec(spec, grid: dict | None, target, out: Path, **timing) -> lm.LatencyModel:
    """Probe, fit, write MODEL.json; the model's own fit quality is in its "fit" key."""
    from archc.onnx.targets import Target

    target = Target(target.host, per_layer=True)  # the fit needs layer times
    model = fit_probes(probe(spec, configurations(grid or DEFAULT_GRID), target, **timing))
    model.save(out)
    return model
