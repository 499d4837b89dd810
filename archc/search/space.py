"""A search space: per-pass choices and constraints on measured columns, validated by
space.schema.json. A choice `NAME@WHERE: [values]` becomes `--pass NAME=VALUE,where=WHERE`; the
value `none` leaves the pass out. Passes apply in the file's order.

    choices:
      width@gfe: [1, 0.75, 0.5]        # --pass width=0.75,where=gfe
      expand@gfe.1: [6, 4, 2]          # --pass expand=4,where=gfe.1
      repeat@gfe: [3, 2, 1]
      drop: [none, ppm]
      input: [3x512x512, 3x256x256]
    constraints: [params <= 1e6, median_ms <= 33.4]
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from archc.errors import ArchcError, did_you_mean
from archc.sweep.sweep import check_grid, passes_of

# the columns a trial measures, by stage: analysis (and a latency model's prediction), then latency, then training
STAGES = {"analysis": ("params", "macs", "activation_bytes", "predicted_ms"), "latency": ("median_ms", "fps"),
          "train": ("miou",)}
MEASURED = tuple(c for cols in STAGES.values() for c in cols)


@dataclass(frozen=True)
class Constraint:
    """`COL <= X` or `COL >= X`; Optuna's convention: feasible when excess() <= 0."""

    column: str
    op: str
    bound: float

    def excess(self, value: float) -> float:
        return value - self.bound if self.op == "<=" else self.bound - value

    def violation(self, value: float) -> float:
        """The excess relative to the bound (0.1: 10% over), so that budgets in ms and in MACs add up
        comparably; <= 0 is feasible: a bound met exactly is met."""
        return self.excess(value) / (abs(self.bound) or 1.0)

    def __str__(self) -> str:
        return f"{self.column}{self.op}{self.bound:g}"


def judge(constraints, row: dict, stage: str | None = None) -> list[tuple[Constraint, float | None]]:
    """The one constraint judge (the search's stages and Optuna's constraints both ask it): each
    constraint (of `stage`, or all) with its violation in `row`, None where the row has no value for
    its column (not measured: an earlier stage stopped the trial). Broken: a violation > 0."""
    out = []
    for c in constraints:
        if stage is None or stage_of(c.column) == stage:
            value = row.get(c.column)
            out.append((c, None if value is None else c.violation(float(value))))
    return out


def parse_constraint(text: str, where: str = "--budget") -> Constraint:
    """'median_ms<=33.4' -> Constraint('median_ms', '<=', 33.4)."""
    m = re.fullmatch(r"\s*([a-z_][a-z0-9_]*)\s*(<=|>=)\s*([-+0-9.eE]+)\s*", str(text))
    bound = _number(m.group(3)) if m else None
    if bound is None:
        raise ArchcError(f"{where} {text!r}: expected COLUMN<=NUMBER or COLUMN>=NUMBER, e.g. 'median_ms<=33.4'")
    column = m.group(1)
    if column not in MEASURED:
        raise ArchcError(f"{where} {text!r}: '{column}' is not a measured column (columns: "
                         f"{', '.join(MEASURED)}){did_you_mean(column, MEASURED)}")
    return Constraint(column, m.group(2), bound)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def stage_of(column: str) -> str:
    return next(stage for stage, cols in STAGES.items() if column in cols)


@dataclass(frozen=True)
class Space:
    choices: dict  # "NAME[@WHERE]" -> tuple of value strings, in the file's order
    constraints: tuple = ()
    file: str = ""

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self.choices.values())

    def passes(self, picks: dict) -> list[str]:
        """The `--pass` strings of one point of the space (choice -> value)."""
        return passes_of({key: picks[key] for key in self.choices})

    def knobs(self, picks: dict) -> dict:
        """One point as sweep knobs (what Sweep.evaluate and the results' columns take)."""
        return {key: picks[key] for key in self.choices}


def value_text(v) -> str:
    """A YAML choice value as its `--pass` text: 1.0 -> '1', 0.75 -> '0.75', True -> 'true'."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:g}"
    return str(v).strip()


@lru_cache(maxsize=None)
def schema() -> dict:
    return json.loads(resources.files("archc.search").joinpath("space.schema.json").read_text())


def load_space(path) -> Space:
    """Read and check a space file: its schema, then every choice as a pass (before any work)."""
    from archc.lang import yamlio
    from archc.lang.schema import validate_schema

    doc = yamlio.load(path)
    validate_schema(doc, schema())
    choices = {key: tuple(value_text(v) for v in values) for key, values in doc.data["choices"].items()}
    for key, values in choices.items():
        try:
            check_grid({key: list(values)})
        except ArchcError as exc:
            raise ArchcError(f"choice '{key}': {exc.message}", doc.key_mark(("choices", key))) from None
    constraints = tuple(parse_constraint(c, f"{path}: constraint") for c in doc.data.get("constraints", ()))
    return Space(choices, constraints, str(path))

