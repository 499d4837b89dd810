"""`archc latency fit`: profile probe configurations of a spec per layer on a device (this
machine or --host), then fit the per-op-kind costs of archc/measure/latency_model.py.

    archc latency fit specs/fastscnn.yaml --grid width=1,0.5,0.25,0.125 \\
        --grid input=3x512x512,3x256x256,3x128x128 --host pi@raspberrypi.local --out pi4.json

Exports run in parallel worker processes; timings run one model at a time on the device.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from archc.errors import ArchcError
from archc.measure import latency_model as lm
from archc.measure.timing import Timing
from archc.sweep.executors import Failed
from archc.sweep.sweep import Sweep, _export, configurations, passes_of

DEFAULT_GRID = {"width": ["1", "0.5", "0.25", "0.125"], "input": ["3x512x512", "3x384x384", "3x256x256", "3x192x192"]}


@dataclass
class Probe:
    config: str
    graph: object  # the compiled Graph IR
    profile: dict  # targets.profile_model's result (per layer when fitted)


def compile_valid(spec, configs: list[dict], variables: dict) -> list[tuple[dict, object]]:
    """(knobs, Compiled) for every configuration the passes accept."""
    from archc.compile import compile_spec
    from archc.ir.workspace import Workspace

    out, ws = [], Workspace()  # one for the grid: its configurations share structures
    for knobs in configs:
        try:
            out.append((knobs, compile_spec(spec, passes_of(knobs), None, variables, workspace=ws)))
        except ArchcError:
            continue  # e.g. PPM bins larger than the map: not a network
    if not out:
        raise ArchcError(f"--grid: no configuration of {spec} is valid; widen the grid")
    return out


@dataclass(frozen=True)
class Probing:
    """How `probe` works: its timing, the spec's variables, export workers (0: one per core), configurations
    timed only end to end (`plain`), and `keep`: a folder where the exported models stay, named by
    configuration, and are reused."""
    timing: Timing = Timing(threads=1, runs=20, warmup=5)
    variables: dict | None = None
    jobs: int = 0
    plain: tuple = ()
    keep: Path | None = None


def probe(spec, configs: list[dict], target, how: Probing = Probing(), progress=None) -> list[Probe]:
    """Export every valid configuration (in parallel), then time them: on this machine all in one
    process, their runs interleaved (so a changing load hits all alike); on a device one at a time.
    `configs` are profiled per layer when `target` says so; `how.plain` ones only end to end."""
    from archc.measure.layers import rows_of
    from archc.measure.targets import Target, profile_many, profile_model

    variables, plain, keep, jobs = how.variables or {}, list(how.plain), how.keep, how.jobs
    valid = [(k, c, True) for k, c in compile_valid(spec, configs, variables)]
    valid += [(k, c, False) for k, c in (compile_valid(spec, list(plain), variables) if plain else [])]
    with tempfile.TemporaryDirectory(prefix="archc-fit-") as tmp:
        paths = [Path(keep or tmp) / f"{'_'.join(passes_of(k)) or 'baseline'}.onnx" for k, _, _ in valid]
        todo = [i for i, p in enumerate(paths) if not p.is_file()]
        jobs_ = [(str(spec), None, variables, valid[i][0]) for i in todo]
        for i, model in zip(todo, Sweep(str(spec), {}, jobs=jobs)._pool_map(_export, jobs_, progress)):
            if isinstance(model, Failed):
                raise ArchcError(f"probe {' '.join(passes_of(valid[i][0]))}: export failed twice ({model.reason})")
            paths[i].write_bytes(model)
        specs = [(p, layered and target.per_layer, c.report, rows_of(c.graph))
                 for p, (_, c, layered) in zip(paths, valid)]
        if target.host is None:
            results = profile_many(specs, how.timing)
        else:
            results = [profile_model(p, Target(target.host, per_layer=pl), how.timing, report, rows)
                       for p, pl, report, rows in specs]
    return [Probe(" ".join(passes_of(k)), c.graph, r) for (k, c, _), r in zip(valid, results)]


def samples(probes: list[Probe], key: str = "median_ms") -> tuple[list, list]:
    """Per-layer (kind, features, ms) and per-model (kind totals, end-to-end median ms: `key`)."""
    layer_rows, model_rows = [], []
    for p in probes:
        measured = {l["name"]: l["ms"] for l in p.profile.get("layers", [])}
        feats = lm.layer_features(p.graph)
        layer_rows += [(k, f, measured[name]) for name, k, f in feats if name in measured]
        model_rows.append((lm.kind_totals(p.graph), p.profile[key]))
    return layer_rows, model_rows


def fit_probes(probes: list[Probe], key: str = "median_ms") -> lm.LatencyModel:
    """The model of these probes, calibrated to their end-to-end `key` (median_ms, or cpu_median_ms
    on a loaded machine: the runs' own CPU time, without the waits for a core)."""
    layer_rows, model_rows = samples(probes, key)
    first = probes[0].profile
    model = lm.fit(layer_rows, model_rows, {"device": first.get("device"), "runtime": first["runtime"],
                                            "threads": first["threads"], "probes": [p.config for p in probes]})
    predicted = [model.predict(p.graph) for p in probes]
    measured = [p.profile[key] for p in probes]
    model.meta["fit"] = {"mape": round(lm.mape(predicted, measured), 4),
                         "spearman": round(lm.spearman(predicted, measured), 4) if len(probes) > 2 else None}
    return model


def fit_spec(spec, grid: dict | None, target, out: Path, how: Probing = Probing()) -> lm.LatencyModel:
    """Probe, fit, write MODEL.json; the model's own fit quality is in its "fit" key."""
    from archc.measure.targets import Target

    target = Target(target.host, per_layer=True)  # the fit needs layer times
    model = fit_probes(probe(spec, configurations(grid or DEFAULT_GRID), target, how))
    model.save(out)
    return model
