"""Diff: two compiled networks side by side (`archc diff`), totals and per
stage, with the differences B - A. Plain data; render.py draws the table."""
from __future__ import annotations

from archc.ir.analysis import Report

KEYS = ("params", "macs", "activation_bytes", "macs_attention", "macs_total")


def side(report: Report, spec: str, passes) -> dict:
    """One side's identity and totals."""
    return {"spec": str(spec), "passes": list(passes), "name": report.name, "input": list(report.input),
            "outputs": [list(s) for s in report.outputs], **{k: getattr(report, k) for k in KEYS}}


def _delta(a: dict | None, b: dict | None) -> dict:
    return {k: (b or {}).get(k, 0) - (a or {}).get(k, 0) for k in KEYS}


def _ratio(a: dict, b: dict) -> dict:
    return {k: (round(b[k] / a[k], 6) if a[k] else None) for k in KEYS}


def _stages(ra: Report, rb: Report) -> list:
    sa, sb = ra.stages(), rb.stages()
    names = list(sa) + [s for s in sb if s not in sa]
    pick = lambda s, name: {k: s[name][k] for k in KEYS} if name in s else None  # noqa: E731
    return [{"stage": name, "a": pick(sa, name), "b": pick(sb, name),
             "delta": _delta(pick(sa, name), pick(sb, name))} for name in names]


def diff(ra: Report, rb: Report, a: dict, b: dict) -> dict:
    """The `diff --json` object: both sides, their difference and ratio, and per-stage figures."""
    return {"a": a, "b": b, "delta": _delta(a, b), "ratio": _ratio(a, b), "stages": _stages(ra, rb)}
