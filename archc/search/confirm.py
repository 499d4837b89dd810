"""`archc search --latency-model MODEL --host HOST`: the study ranks by the model (thousands of
candidates, nothing runs), then the device confirms. Only the trials that could be on the feasible
front are measured: those every other constraint allows whose predicted latency is within the model's
own leave-one-out worst error of each latency budget, and of those the ones no other beats on every
objective and on predicted latency. The front and the winner are then judged by the measured latency.
"""
from __future__ import annotations

from archc.search.space import judge, stage_of

TOLERANCE = 0.2  # a model without a reported error: trust it to 20%


def confirm(req, search, rows: list, out) -> tuple[list, dict]:
    """(the feasible front by measured latency, what judged it). `rows` are the search's trials; the
    measured ones are updated in place (median_ms measured there, predicted_ms kept)."""
    from archc.sweep.sweep import Sweep

    model = search.evaluator.sweep.latency_model
    tol = float(((model.get("fit") or {}).get("loo") or {}).get("max_error") or TOLERANCE)
    pool = _candidates(search.evaluator.constraints, rows, tol)
    picked = _nondominated(pool, [(o.column, o.maximize) for o in search.objectives] + [("predicted_ms", False)])
    picked = list({r["config"]: r for r in picked}.values())
    device = Sweep(req.spec, {}, variables=req.variables, executor=req.executor, target=req.target)
    settings = {k: v for k, v in search.evaluator.profile.items() if k != "runtime"} | {"host": str(req.target.host)}
    results = device.evaluate([search.space.knobs(r) for r in picked], req.cache or out, settings)
    source = f"measured: {req.target.host}"
    for row, result in zip(picked, results):
        row.update(median_ms=result.median_ms, fps=result.fps, latency=source)
        if result.status != "ok":
            row.update(status=result.status, reason=result.reason)
            continue
        broken = [c for c, v in judge(search.evaluator.constraints, row) if v is not None and v > 0]
        row["status"], row["reason"] = ("infeasible", f"measured: breaks {broken[0]}") if broken else ("ok", "")
    feasible = [r for r in picked if r["status"] == "ok"]
    front = _nondominated(feasible, [(o.column, o.maximize) for o in search.objectives])
    return front, {"judged_by": "measured", "source": source, "device": str(req.target.host),
                   "ranked_by": search.evaluator.source(), "tolerance": round(tol, 4),
                   "candidates": len(pool), "measured": len(picked)}


def _candidates(constraints, rows: list, tol: float) -> list:
    """Built trials that meet every non-latency constraint and whose predicted latency is within
    `tol` (relative) of each latency budget: the device may find them feasible."""
    out = []
    for row in rows:
        if row["status"] not in ("ok", "infeasible") or row.get("predicted_ms") is None:
            continue
        verdicts = judge(constraints, dict(row, median_ms=row["predicted_ms"]))
        if all(v is not None and v <= (tol if stage_of(c.column) == "latency" else 0) for c, v in verdicts):
            out.append(row)
    return out


def _nondominated(rows: list, axes: list) -> list:
    """The rows no other row beats on every axis ((column, maximize) each) and strictly on one."""
    def key(r):
        return [(r[c] if m else -r[c]) if r.get(c) is not None else float("-inf") for c, m in axes]

    keys = [key(r) for r in rows]
    return [r for r, k in zip(rows, keys)
            if not any(all(a >= b for a, b in zip(o, k)) and o != k for o in keys)]
