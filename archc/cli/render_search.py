"""What `archc search` prints: the feasible front and the winner (rich tables, on stdout)."""
from __future__ import annotations

from archc.cli.render import _console, message, num, progress  # noqa: F401 - progress is re-exported

COLUMNS = ("params", "macs", "median_ms", "miou")


def outcome(o, out) -> None:
    from rich.table import Table

    statuses: dict = {}
    for row in o.rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    t = Table(title=f"{len(o.rows)} trials ({counts}); feasible front: {len(o.front)}")
    t.add_column("trial", justify="right")
    t.add_column("config")
    for col in COLUMNS:
        t.add_column(col, justify="right")
    for row in o.front[:20]:
        t.add_row(str(row["trial"]), row["config"], *(_cell(row.get(c)) for c in COLUMNS))
    _console().print(t)
    if o.warning:
        import sys

        print(f"archc: warning: {o.warning}", file=sys.stderr)
    for note in o.summary.get("notes", ()):
        message(f"note: {note}")
    judged = o.summary.get("latency") or {}
    if "measured" in judged and "ranked_by" in judged:
        message(f"ranked by {judged['ranked_by']}; confirmed on {judged['device']}: measured {judged['measured']} "
                f"of {judged['candidates']} candidates within {judged['tolerance']:.0%} of the budget")
    if o.winner is None:
        message("no trial meets every constraint: loosen a --budget or widen the space")
        return
    message(f"winner: trial {o.winner['trial']}: {o.winner['config']}"
            + (f" (latency {judged['source']})" if judged.get("source") else ""))
    message(f"wrote {out}/results.csv, {out}/front.csv, {out}/summary.json, {out}/spec.yaml"
            + (f" and {out}/winner/" if (out / "winner").exists() else ""))


def _cell(v) -> str:
    if v is None or v == "":
        return ""
    return f"{v:.3f}" if isinstance(v, float) else num(v)
