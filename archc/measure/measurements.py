"""End-to-end timings of a network's configurations, as a user has them (taken by hand on a device
that archc cannot reach, or published): the input of `archc latency fit SPEC --measurements FILE.csv`.

    # lines starting with '#' are comments (a citation, how the times were taken)
    width,expand,repeat,ppm,input,latency_ms
    1,6,3,0,3x512x512,216.9
    0.5,4,3,1,3x512x512,87.1

One row per timed configuration; `latency_ms` (> 0) is required. The configuration is given by
  - pass columns: a column named after a pass (width, expand, repeat, drop, input, groups, ...) holds
    its value (`none` or empty: the pass is left out), applied in the columns' order with input last;
    `ppm` is the thesis's column: 1 keeps the Pyramid Pooling Module, 0 drops it (drop=ppm);
  - or a `passes` (or `config`, as a sweep's results.csv writes it) column: `--pass` strings separated
    by spaces, e.g. `width=0.5,where=gfe drop=ppm`.
Any other column (e.g. `table`) is ignored. A configuration listed more than once is averaged (the
thesis repeats some configurations; their spread, ~5%, is the device's own), and counted as one
configuration in the cross-validation. Every bad row is one error naming FILE:LINE.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from archc.errors import ArchcError

TARGET = "latency_ms"
PASS_LISTS = ("passes", "config")
PPM = "ppm"


@dataclass(frozen=True)
class Measurement:
    passes: tuple  # the --pass strings, in order
    latency_ms: float  # the mean of its rows
    lines: tuple  # the file's lines it came from
    times: tuple = ()  # every row's time (several when the configuration was repeated)

    @property
    def config(self) -> str:
        return " ".join(self.passes) or "(baseline)"


def read(path) -> list[Measurement]:
    """The file's configurations, duplicates averaged, in the order of their first row."""
    from archc.lang.yamlio import read_bytes

    path = Path(path)
    text = read_bytes(path, 16 * 1024 * 1024, "measurements file", hint="a CSV with a latency_ms column").decode(
        "utf-8", errors="replace")
    lines = [(n, line) for n, line in enumerate(text.splitlines(),
                                                1) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ArchcError(f"{path}: no rows; expected a header (e.g. width,input,{TARGET}) and one row per "
                         f"configuration")
    head_line, header = lines[0][0], next(csv.reader([lines[0][1]]))
    header = [h.strip() for h in header]
    columns = _columns(path, head_line, header)
    merged: dict = {}
    for n, line in lines[1:]:
        cells = next(csv.reader(io.StringIO(line)))
        passes, ms = _row(path, n, header, columns, cells)
        merged.setdefault(passes, []).append((n, ms))
    if not merged:
        raise ArchcError(f"{path}: a header and no rows; add one row per timed configuration")
    return [Measurement(p, sum(ms for _, ms in rows) / len(rows), tuple(n for n, _ in rows),
                        tuple(ms for _, ms in rows)) for p, rows in merged.items()]


def _columns(path: Path, line: int, header: list) -> list:
    """The header's pass columns (input last) or its pass-list column; a header without either is one line."""
    from archc.passes import REGISTRY, _load_all

    _load_all()
    if TARGET not in header:
        raise ArchcError(f"{path}:{line}: no '{TARGET}' column (columns: {', '.join(header)}); "
                         f"name the measured end-to-end time {TARGET}")
    listed = [h for h in header if h in PASS_LISTS]
    knobs = [h for h in header if h in REGISTRY or h == PPM]
    if listed and knobs:
        raise ArchcError(f"{path}:{line}: both a '{listed[0]}' column and pass columns ({', '.join(knobs)}); "
                         f"give the configuration one way")
    if not listed and not knobs:
        raise ArchcError(f"{path}:{line}: no configuration columns: add pass columns (width, expand, repeat, "
                         f"ppm, input, ...) or a 'passes' column of --pass strings")
    return listed[:1] or sorted(knobs, key=lambda h: h == "input")


def _row(path: Path, n: int, header: list, columns: list, cells: list) -> tuple[tuple, float]:
    from archc.passes import parse_pass

    where = f"{path}:{n}"
    if len(cells) != len(header):
        raise ArchcError(f"{where}: {len(cells)} cells for {len(header)} columns ({', '.join(header)})")
    row = {h: c.strip() for h, c in zip(header, cells)}
    ms = _time(where, row[TARGET])
    passes = row[columns[0]].split() if columns[0] in PASS_LISTS else [p for c in columns if (p := _pass(where, c,
                                                                                                         row[c]))]
    for p in passes:
        try:
            parse_pass(p)
        except ArchcError as exc:
            raise ArchcError(f"{where}: {exc.message}") from None
    return tuple(passes), ms


def _time(where: str, cell: str) -> float:
    try:
        ms = float(cell)
    except ValueError:
        ms = math.nan
    if not math.isfinite(ms) or ms <= 0:
        raise ArchcError(f"{where}: {TARGET} '{cell}' is not a positive number of milliseconds")
    return ms


def _pass(where: str, column: str, value: str) -> str | None:
    if column == PPM:
        if value not in ("0", "1"):
            raise ArchcError(f"{where}: ppm '{value}' should be 1 (kept) or 0 (dropped: drop=ppm)")
        return None if value == "1" else "drop=ppm"
    return None if value.lower() in ("", "none") else f"{column}={value}"
