"""`archc search` as a function: the study, then its outputs in OUT: results.csv/json (every finished
trial, like the sweep's), front.csv (the feasible Pareto front), spec.yaml (the winner's transformed
spec) and winner/ (its verified ONNX build). Every file is written atomically; results.csv is
rewritten after each batch, so an interrupted search leaves what it finished.

    run_search(SearchRequest("specs/fastscnn.yaml", "spaces/thesis.yaml", ["macs:max"],
                             ["median_ms<=5"], sampler="grid"), Path("runs/s1"))
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from archc.errors import ArchcError
from archc.fs import atomic_file
from archc.search.space import load_space, parse_constraint
from archc.search.stages import PROFILE, Evaluator
from archc.search.study import Search, needs, parse_objective
from archc.sweep.sweep import COLUMNS, Sweep
from archc.train.folder import run_folder

COLS = ("trial",) + COLUMNS  # the sweep's columns (miou among them), numbered


@dataclass
class SearchRequest:
    spec: str
    space: str
    objectives: list  # 'COL' or 'COL:min|max'
    budgets: list = field(default_factory=list)  # 'COL<=X', added to the space's constraints
    sampler: str = "tpe"
    trials: int | None = None
    seed: int = 0
    variables: dict = field(default_factory=dict)
    train: dict | None = None  # {"epochs": E, "data": DIR}
    storage: str | None = None  # default sqlite:///OUT/study.db; "memory": not kept (benchmarks)
    executor: object = None  # archc.sweep.executors; None: the local pool
    batch: int = 4
    profile: dict = field(default_factory=lambda: dict(PROFILE))
    cache: Path | None = None  # default OUT (its cache/ folder is the sweep's)
    build: bool = True  # also export, simplify and verify the winner into OUT/winner/


@dataclass
class Outcome:
    rows: list  # every finished trial's row
    front: list  # rows of the feasible Pareto front, best first by the first objective
    winner: dict | None
    warning: str = ""  # a search that cannot tell its candidates apart (every one scored alike)


def make_search(req: SearchRequest, out: Path) -> Search:
    space = load_space(req.space)
    objectives = tuple(parse_objective(o) for o in req.objectives)
    if not objectives:
        raise ArchcError("--objective is required, e.g. --objective macs:max or --objective miou")
    constraints = list(space.constraints) + [parse_constraint(b) for b in req.budgets]
    wanted = needs(objectives) | {"train" for c in constraints if c.column == "miou"}
    if "train" in wanted and not req.train:
        raise ArchcError("miou is measured by training: add --train EPOCHS --data DIR")
    sweep = Sweep(req.spec, {}, variables=req.variables, executor=req.executor)
    train = dict(req.train, seed=req.seed) if req.train else None
    evaluator = Evaluator(sweep, constraints, wanted, req.cache or out, req.profile, train)
    return Search(space, objectives, evaluator, req.sampler, req.trials, req.seed, req.batch)


OUTPUTS = ("study.db", "study.db-journal", "results.csv", "results.json", "front.csv", "spec.yaml", "winner", "cache")


def run_search(req: SearchRequest, out: Path, progress=None) -> Outcome:
    """The search into OUT: a folder of archc's own (a user's files refused), locked while it runs."""
    search = make_search(req, Path(out))  # every mistake in the request is found before OUT is made
    with run_folder(out, OUTPUTS, "--out") as real:
        return _run(req, search, real, progress)


def _run(req: SearchRequest, search: Search, out: Path, progress) -> Outcome:
    storage = req.storage or f"sqlite:///{out.resolve() / 'study.db'}"
    storage = None if storage == "memory" else storage
    trials, best = search.run(storage, progress, lambda done: write_rows([_row(t) for t in done], out / "results.csv"))
    rows = [_row(t) for t in trials]
    first = search.objectives[0]
    unique = {r["config"]: r for r in reversed([_row(t) for t in best])}.values()  # a repeat: its first trial
    front = sorted(unique, key=lambda r: -r[first.column] if first.maximize else r[first.column])
    write_rows(rows, out / "results.csv")
    write_rows(front, out / "front.csv")
    winner = front[0] if front else None
    if winner:
        _write_winner(req, search.space.passes(winner), winner, out)
    return Outcome(rows, front, winner, degenerate(rows, first.column))


def degenerate(rows: list, column: str) -> str:
    """A warning when every measured candidate got the same score (e.g. training too short to learn: all 0.0)."""
    values = [r.get(column) for r in rows if r.get("status") in ("ok", "infeasible") and r.get(column) is not None]
    if len(values) < 2 or len(set(values)) > 1:
        return ""
    return (f"all {len(values)} measured candidates score {column} = {values[0]}: the search cannot rank them "
            f"and its winner is arbitrary" + ("; train longer (--train EPOCHS) or check --data" if column == "miou"
                                              else ""))


def _row(trial) -> dict:
    row = dict(trial.user_attrs["row"])
    reason = row.pop("broken", "") or row.get("reason", "")
    return {"trial": trial.number, **row, "reason": reason}


def write_rows(rows: list, path: Path) -> None:
    knobs = [k for k in (rows[0] if rows else {}) if k not in COLS]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLS) + knobs, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    with atomic_file(path) as tmp:
        tmp.write_text(buf.getvalue())
    if path.name == "results.csv":
        with atomic_file(path.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps(rows, indent=1) + "\n")


def _write_winner(req: SearchRequest, passes: list, winner: dict, out: Path) -> None:
    """The winner's transformed spec in OUT/spec.yaml and its verified build in OUT/winner/."""
    from archc.compile import compile_spec
    from archc.lang.emit import emit
    from archc.deploy.artifacts import write_build

    compiled = compile_spec(req.spec, passes, None, req.variables)
    note = f"archc search winner, trial {winner['trial']}: {winner['config']}"
    with atomic_file(out / "spec.yaml") as tmp:
        tmp.write_text(emit(compiled.spec, note))
    if req.build:
        write_build(compiled, out / "winner", force=True, note=note)

