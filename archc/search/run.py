"""`archc search` as a function: the study, then its outputs in OUT: results.csv/json (every finished
trial, like the sweep's), front.csv (the feasible Pareto front), spec.yaml (the winner's transformed
spec) and winner/ (its verified ONNX build). Every file is written atomically; results.csv is
rewritten after each batch, so an interrupted search leaves what it finished.

    run_search(SearchRequest("specs/fastscnn.yaml", "spaces/thesis.yaml", ["macs:max"],
                             ["median_ms<=5"], sampler="grid"), Path("runs/s1"))
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from archc.errors import KEPT, ArchcError
from archc.fs import atomic_file
from archc.search.shared import Seat, sqlite_file
from archc.search.space import load_space, parse_constraint
from archc.search.stages import PROFILE, Evaluator
from archc.search.study import Search, needs, parse_objective
from archc.sweep.results import COLUMNS, write_rows as _write
from archc.sweep.sweep import Sweep
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
    latency_model: str | None = None  # a model file or a shipped device's name: latency predicted, nothing runs
    target: object = None  # archc.measure.targets.Target with a host: latency measured on that device
    join: bool = False  # work on a study other processes may be running (archc.search.shared)


@dataclass
class Outcome:
    rows: list  # every finished trial's row
    front: list  # rows of the feasible Pareto front, best first by the first objective
    winner: dict | None
    warning: str = ""  # a search that cannot tell its candidates apart (every one scored alike)
    summary: dict = field(default_factory=dict)  # OUT/summary.json: what judged the winner, notes


def _resolved(req: SearchRequest) -> SearchRequest:
    """The request with its spec as a file (a bundled spec may be given by name)."""
    from dataclasses import replace

    from archc.lang.library import resolve_spec

    return replace(req, spec=str(resolve_spec(req.spec)))


def make_search(req: SearchRequest, out: Path) -> Search:
    req = _resolved(req)
    space = load_space(req.space)
    objectives, notes = _objectives(req)
    constraints = list(space.constraints) + [parse_constraint(b) for b in req.budgets]
    wanted = needs(objectives) | {"train" for c in constraints if c.column == "miou"}
    if "train" in wanted and not req.train:
        raise ArchcError("miou is measured by training: add --train EPOCHS --data DIR")
    model = _model(req, objectives, constraints)
    if req.storage != "memory":
        sqlite_file(req.storage)  # a URL archc cannot share safely is refused before OUT is made
    host = req.target if req.target is not None and req.target.host is not None else None
    sweep = Sweep(req.spec, {}, variables=req.variables, executor=req.executor, latency_model=model,
                  target=host if model is None else None)
    train = dict(req.train, seed=req.seed) if req.train else None
    if train is not None:  # a bad --data: refused before OUT is made and anything is evaluated
        from archc.train.datasets import check_splits

        check_splits(train["data"])
    profile = dict(req.profile, host=str(host.host)) if host and model is None else req.profile
    evaluator = Evaluator(sweep, constraints, wanted, req.cache or out, profile, train, req.latency_model or "")
    return Search(space, objectives, evaluator, req.sampler, req.trials, req.seed, req.batch, notes=tuple(notes))


def _objectives(req: SearchRequest) -> tuple[tuple, list]:
    """The objectives; miou without --train becomes the capacity objective MACs (max), said so."""
    objectives = tuple(parse_objective(o) for o in req.objectives)
    if not objectives:
        raise ArchcError("--objective is required, e.g. --objective macs:max or --objective miou")
    if req.train or not any(o.column == "miou" for o in objectives):
        return objectives, []
    swapped = tuple(parse_objective("macs:max") if o.column == "miou" else o for o in objectives)
    return swapped, ["no --train: the objective miou is replaced by the capacity objective macs:max "
                     "(the most MACs under the budgets); add --train EPOCHS --data DIR to rank by mIoU"]


def _model(req: SearchRequest, objectives, constraints) -> dict | None:
    """--latency-model's JSON (with its name), or None; predicted_ms without a model is one line."""
    from archc.measure.latency_model import load

    uses = [o.column for o in objectives] + [c.column for c in constraints]
    if req.latency_model is None:
        if "predicted_ms" in uses:
            raise ArchcError("predicted_ms needs --latency-model MODEL (a file or a shipped device: archc devices)")
        return None
    return load(req.latency_model).to_json()


OUTPUTS = ("study.db", "study.db-journal", ".study.db.archc-study", "results.csv", "results.json", "front.csv",
           "spec.yaml", "summary.json", "winner", "cache", "train_cache")


def run_search(req: SearchRequest, out: Path, progress=None) -> Outcome:
    """The search into OUT: a folder of archc's own (a user's files refused), locked while it runs. A study in
    another --storage is joined before OUT is made, so a refused second process leaves nothing behind."""
    req = _resolved(req)
    search = make_search(req, Path(out))  # every mistake in the request is found before OUT is made
    shared = req.storage if req.storage != "memory" else None  # None: OUT/study.db (OUT's lock covers it)
    with Seat.of(shared, req.join) if shared else contextlib.nullcontext() as seat:
        with run_folder(out, OUTPUTS, "--out") as real:
            return _run(req, search, real, progress, seat)


def _run(req: SearchRequest, search: Search, out: Path, progress, seat) -> Outcome:
    storage = req.storage or f"sqlite:///{out.resolve() / 'study.db'}"
    storage = None if storage == "memory" else storage
    KEPT[:] = [f"{out} keeps the study ({'its study.db' if not req.storage else storage}): the same command "
               f"continues where it stopped" if storage else
               f"the study was in memory (--storage memory): {out}/results.csv holds the trials of its last write"]
    trials, best = search.run(storage, progress, _Rewriter(out / "results.csv"), seat)
    rows = [_row(t) for t in trials]
    first = search.objectives[0]
    unique = list({r["config"]: r for r in reversed([_row(t) for t in best])}.values())  # a repeat: its first trial
    judged = {"judged_by": "predicted" if req.latency_model else "measured", "source": search.evaluator.source()}
    if req.latency_model and req.target is not None and req.target.host is not None:
        from archc.search.confirm import confirm

        unique, judged = confirm(req, search, rows, out)
    front = sorted(unique, key=lambda r: -r[first.column] if first.maximize else r[first.column])
    write_rows(rows, out / "results.csv")
    write_rows(front, out / "front.csv")
    winner = front[0] if front else None
    summary = {"winner": winner, "latency": judged, "objectives": [str(o) for o in search.objectives],
               "budgets": [str(c) for c in search.evaluator.constraints], "trials": len(rows),
               "notes": list(search.notes)}
    with atomic_file(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
    if winner:
        _write_winner(req, search.space.passes(winner), winner, out)
    return Outcome(rows, front, winner, degenerate(rows, first.column) or tied(front, first.column), summary)


def tied(front: list, column: str) -> str:
    """A warning when several front candidates share the winner's score on the first objective (one
    objective: Optuna's front is every trial at the best value), e.g. after a training too short to tell
    them apart; the winner is then one of them by no merit of its own."""
    best = [r for r in front if front and r.get(column) == front[0].get(column)]
    if len(best) < 2:
        return ""
    return (f"{len(best)} candidates of the front tie at {column} = {front[0].get(column)}: the winner is an "
            f"arbitrary one of them" + ("; train longer (--train EPOCHS) to tell them apart" if column == "miou"
                                         else ""))


def degenerate(rows: list, column: str) -> str:
    """A warning when every measured candidate got the same score (e.g. training too short to learn: all 0.0)."""
    values = [r.get(column) for r in rows if r.get("status") in ("ok", "infeasible") and r.get(column) is not None]
    if len(values) < 2 or len(set(values)) > 1:
        return ""
    return (f"all {len(values)} measured candidates score {column} = {values[0]}: the search cannot rank them "
            f"and its winner is arbitrary" + ("; train longer (--train EPOCHS) or check --data" if column == "miou"
                                              else ""))


class _Rewriter:
    """results.csv after a batch, so that an interrupted search leaves what it finished; rewritten
    only when the time since the last write is 30x what that write took, so that its cost stays
    under ~3% of the search (rewritten after every batch, a 2,000-trial search spent most of its time
    writing its own rows: O(trials^2); at 10x, 8% of it). The study itself is in its storage after
    every trial, and a resumed search rewrites the rows from it."""

    def __init__(self, path: Path):
        self.path, self.next = path, 0.0

    def __call__(self, finished) -> None:
        """`finished()`: the study's finished trials (read only when written)."""
        import time

        if time.perf_counter() < self.next:
            return
        start = time.perf_counter()
        write_rows([_row(t) for t in finished()], self.path)
        self.next = time.perf_counter() + 30 * (time.perf_counter() - start)


def _row(trial) -> dict:
    row = dict(trial.user_attrs["row"])
    reason = row.pop("broken", "") or row.get("reason", "")
    return {"trial": trial.number, **row, "reason": reason}


def write_rows(rows: list, path: Path) -> None:
    """The sweep's writer, trials numbered first; results.csv also as results.json."""
    _write(rows, path, COLS, with_json=path.name == "results.csv")


def _write_winner(req: SearchRequest, passes: list, winner: dict, out: Path) -> None:
    """The winner's transformed spec in OUT/spec.yaml and its verified build in OUT/winner/."""
    from archc.compile import compile_spec
    from archc.lang.emit import emit

    compiled = compile_spec(req.spec, passes, None, req.variables)
    note = f"archc search winner, trial {winner['trial']}: {winner['config']}"
    with atomic_file(out / "spec.yaml") as tmp:
        tmp.write_text(emit(compiled.spec, note))
    if req.build:
        from archc.deploy.artifacts import write_build  # torch: only when the winner is built

        write_build(compiled, out / "winner", force=True, note=note)

