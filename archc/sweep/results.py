"""What every results table shares: its columns, which end of each is better, and the one writer
(a sweep's and a search's results.csv/json, a search's front.csv)."""
from __future__ import annotations

import json
from pathlib import Path

COLUMNS = ("config", "status", "params", "macs", "activation_bytes", "median_ms", "fps", "predicted_ms", "miou",
           "run", "reason")
# which end of a column is better: the one table sweep --plot, pareto, search objectives and fronts read
LOWER_IS_BETTER = frozenset({"params", "macs", "activation_bytes", "median_ms", "p90_ms", "mean_ms", "cpu_median_ms",
                             "predicted_ms", "latency", "latency_ms"})


def lower_is_better(column: str) -> bool:
    """Whether smaller values of `column` are better (cost columns); quality columns (miou, fps) are not."""
    return column in LOWER_IS_BETTER


def write_rows(rows: list[dict], path: Path, first: tuple = COLUMNS, with_json: bool = True) -> None:
    """The one results writer (sweep and search): `path` as CSV, columns `first` then every other key in
    order of appearance (knobs, then the device if timed there; mappings as JSON), and beside it the
    rows as JSON (`with_json`). Each file is written atomically."""
    import csv
    import io

    from archc.fs import atomic_file

    fields = list(dict.fromkeys([*first, *(k for row in rows for k in row)]))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows({k: ("" if v is None else json.dumps(v) if isinstance(v, dict) else v) for k, v in row.items()}
                     for row in rows)
    with atomic_file(path) as tmp:
        tmp.write_text(buf.getvalue())
    if with_json:
        with atomic_file(path.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps(rows, indent=1) + "\n")
