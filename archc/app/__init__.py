"""The application layer: one plain function per command over a frozen request value, returning a result
value. The CLI maps options to a request and renders the result; `archc.api` exposes the same calls.

    from archc import app
    built = app.build(app.Build(app.Source("fastscnn", passes=("width=0.5",)), out=Path("out/f")))
    swept = app.sweep(app.Sweep(app.Source("fastscnn"), grid=("width=1,0.5",)))

The request values (archc/app/requests.py, values.py) need nothing but the standard library; each
function is imported from its module when first named, so `archc --help` loads no compiler.
"""
from __future__ import annotations

import importlib

from archc.app.requests import (Benchmark, Build, Diff, Eval, Explain, Graph, LatencyFit, Ops, Pareto,  # noqa: F401
                                Predict, Profile, QuantizeReport, Search, Summary, Sweep, Synth, Train, Validate)
from archc.app.values import QUIET, Device, Hooks, Source, Timing, Weights  # noqa: F401

# function -> the module that defines it
CALLS = {
    "validate": "reading", "summary": "reading", "graph": "reading", "explain": "reading", "diff": "reading",
    "ops": "reading", "passes": "reading", "specs": "reading", "spec_reference": "reading",
    "build": "exporting", "profile": "exporting", "benchmark": "exporting", "latency_fit": "exporting",
    "fit_device": "exporting", "quantize_report": "exporting", "devices": "exporting", "recommend": "exporting",
    "write_report": "report",
        "ReportRequest": "report",
    "synth": "training", "train": "training", "evaluate": "training", "predict_masks": "training",
    "sweep": "sweeping", "pareto": "sweeping", "search": "searching",
    "graph_format": "outputs", "plot_targets": "outputs", "compiled": "common", "predict": "reading",
}


def __getattr__(name: str):
    module = CALLS.get(name)
    if module is None:
        raise AttributeError(f"module 'archc.app' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"archc.app.{module}"), name)
    globals()[name] = value  # once
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(CALLS))
