"""The search loop: Optuna's ask/tell over a space, a batch of trials at a time through the stages,
the budgets as one Optuna constraint (`trial.set_constraint`, EXCESS; none when feasible) and `study.best_trials`
as the feasible front. The study lives in an RDB storage (default sqlite:///OUT/study.db): a search
interrupted by SIGINT or SIGKILL resumes where it stopped, and trials left running by the dead
process are asked again with the same values. Optuna is imported only here.

    archc search specs/fastscnn.yaml --space spaces/thesis.yaml --objective macs:max \\
        --budget 'median_ms<=5' --sampler grid --out runs/s1
"""
from __future__ import annotations

import contextlib
import json
import os
import warnings
from dataclasses import dataclass

from archc.errors import ArchcError
from archc.search.shared import Seat
from archc.search.space import MEASURED, Space, judge, stage_of
from archc.search.stages import Evaluator
from archc.sweep.results import lower_is_better

SAMPLERS = ("grid", "tpe", "nsga2")
ASKS = 10  # at most this many trials per distinct configuration wanted (samplers propose repeats)
WORST = 1e18  # the value an unmeasured objective gets: such a trial is infeasible, so it never ranks
GRID_MAX = 1_000_000  # configurations a grid search may list (Optuna's GridSampler materialises them all)
INVALID = 1e6  # an unbuildable configuration's constraint violation: above any measured relative excess
# the one constraint Optuna is told: the summed positive excesses. Optuna reads constraints only as "feasible
# when all <= 0" and "rank infeasible by the sum of the positive ones", which this one value answers alike;
# one key instead of one per budget, and none on a feasible trial (no constraint is feasible to Optuna):
# its samplers parse every trial's constraints on every ask
EXCESS = "excess"


@dataclass(frozen=True)
class Objective:
    column: str
    maximize: bool

    def __str__(self) -> str:
        return f"{self.column}:{'max' if self.maximize else 'min'}"


def parse_objective(text: str) -> Objective:
    """'macs' (min: params, MACs, latency are lower-is-better), 'miou' (max) or 'macs:max'."""
    column, _, way = text.strip().partition(":")
    if column not in MEASURED:
        raise ArchcError(f"--objective {text}: '{column}' is not a measured column (columns: {', '.join(MEASURED)})")
    if way not in ("", "min", "max"):
        raise ArchcError(f"--objective {text}: the direction is min or max, e.g. --objective macs:max")
    return Objective(column, way == "max" if way else not lower_is_better(column))


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ArchcError('archc search needs Optuna: pip install "archc[search]"') from None
    # its warnings (a grid revisited on resume) are not the user's to act on
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna


@dataclass
class Search:
    space: Space
    objectives: tuple  # Objective
    evaluator: Evaluator
    sampler: str = "tpe"
    trials: int | None = None  # distinct configurations to evaluate; None: the whole space with grid, else 100
    seed: int = 0
    batch: int = 4  # trials asked before telling; results depend on it, not on the executor
    notes: tuple = ()  # what the user should know about how it was judged (e.g. the capacity objective)

    def __post_init__(self):
        if self.sampler not in SAMPLERS:
            raise ArchcError(f"--sampler {self.sampler}: expected one of {', '.join(SAMPLERS)}")
        if self.sampler == "grid" and self.space.size > GRID_MAX:  # Optuna lists the whole grid in memory
            raise ArchcError(f"--sampler grid: the space has {self.space.size:,} configurations, more than the "
                             f"{GRID_MAX:,} a grid lists in memory; use --sampler tpe or nsga2 (they draw "
                             f"configurations without listing them) or a smaller space")

    def run(self, storage: str | None, progress=None, on_batch=None, seat=None) -> tuple[list, list]:
        """Run (or resume) the study until `trials` distinct configurations finished: (its finished
        trials in order, the feasible front: study.best_trials). A repeat a sampler proposes costs
        an ask and no evaluation (it is pruned, see _fresh). Other processes may work on the same
        study only through a joined `seat` (archc.search.shared; default: this process's own, refused
        if another is there): then a configuration another one finished or is evaluating counts as
        taken, and only a dead process's running trials are asked again."""
        optuna = _optuna()
        with contextlib.nullcontext(seat) if seat is not None else Seat.of(storage, False) as seat:
            with seat.mutex():
                study = self._study(optuna, storage, seat)
            total, asks, synced = self.total(), 0, False
            seen = {_params_key(t) for t in study.get_trials(deepcopy=False, states=_FINISHED(optuna))}  # kept as
            while asks < ASKS * total:  # it goes: re-reading every trial per batch was O(n^2); joined, it is needed
                with seat.mutex():
                    synced = synced or seat.shared()
                    seen = self._taken(optuna, study, seat) if synced else seen
                    if (left := total - len(seen)) <= 0:
                        break
                    asked = [study.ask() for _ in range(min(self.batch, left))]
                    asks += len(asked)
                    asked, picks = self._fresh(optuna, study, asked, [self._pick(t) for t in asked], seen)
                    for trial in asked if seat.fd is not None else ():
                        trial.set_user_attr("pid", os.getpid())  # whose it is, for the other processes
                for trial, row in zip(asked, self.evaluator.run([self.space.knobs(p) for p in picks])):
                    if self._tell(optuna, study, trial, row):
                        seen.add(_params_key(trial))
                    progress and progress()
                on_batch and on_batch(lambda: study.get_trials(deepcopy=False, states=_FINISHED(optuna)))
            return study.get_trials(deepcopy=False, states=_FINISHED(optuna)), study.best_trials

    def _taken(self, optuna, study, seat) -> set:
        """A joined study's taken configurations: every finished one and those another live process is
        evaluating (a dead process's running trials are failed and queued again first)."""
        _fail_dead(optuna, study, seat, len(self.space.choices))
        state = optuna.trial.TrialState
        trials = study.get_trials(deepcopy=False, states=(state.COMPLETE, state.RUNNING))
        return {_params_key(t) for t in trials if t.state == state.COMPLETE or seat.other(t.user_attrs.get("pid"))}

    def _pick(self, trial) -> dict:
        """Each choice as the index of its value, so that the samplers see an order (width 1 is nearer
        0.75 than 0.125): list a choice's values in order."""
        return {key: v[trial.suggest_int(key, 0, len(v) - 1)] for key, v in self.space.choices.items()}

    def _fresh(self, optuna, study, asked: list, picks: list, finished: set) -> tuple[list, list]:
        """A sampler's repeats are pruned, not told. NSGA-II: a repeat told its old values enters the
        next population again, and a population of copies breeds more copies (on the thesis grid it
        asked 2,100 trials for 199 configurations); a pruned trial is no member of any population.
        TPE: a repeat told its values is one more copy of a good point among its best trials, so it
        proposes that point again (390 asks for 210 configurations) and stays near it; a pruned one
        counts among its worse trials, which steers it to the neighbours (on the thesis table, the
        exhaustive best in 9/10 runs instead of 6/10, benchmarks/search_samplers.md). Told as FAIL
        instead, TPE never learns it has the point and asks it until ASKS runs out. Grid: once every
        point is visited (a resumed run's interrupted points count as visited), it revisits points at
        random, which may be one already finished or one asked twice in a batch: pruned too."""
        seen, keep = set(finished), []  # `finished`: the params of every finished trial
        for trial, pick in zip(asked, picks):
            if _params_key(trial) in seen:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                seen.add(_params_key(trial))
                keep.append((trial, pick))
        return [t for t, _ in keep], [p for _, p in keep]

    def total(self) -> int:
        n = self.trials or (self.space.size if self.sampler == "grid" else 100)
        return min(n, self.space.size) if self.sampler == "grid" else n

    def _study(self, optuna, storage: str | None, seat):
        fingerprint = json.dumps({"space": self.space.choices, "objectives": [str(o) for o in self.objectives],
                                  "constraints": [str(c) for c in self.evaluator.constraints],
                                  "spec": self.evaluator.sweep.spec, "sampler": self.sampler, "seed": self.seed,
                                  **self.evaluator.latency_key()})
        study = optuna.create_study(storage=_rdb(optuna, storage), study_name="archc", load_if_exists=True,
                                    sampler=self._sampler(optuna),
                                    directions=["maximize" if o.maximize else "minimize" for o in self.objectives])
        old = study.user_attrs.get("search")
        if old is not None and old != fingerprint:
            raise ArchcError(f"{storage} holds another search (space, objectives, budget, sampler, seed or latency "
                             f"source differ); "
                             f"use a new --out or --storage")
        study.set_user_attr("search", fingerprint)
        _fail_dead(optuna, study, seat, len(self.space.choices))
        if self.sampler == "grid":
            _requeue_lost_points(optuna, study, len(self.space.choices))
        return study

    def _sampler(self, optuna):
        if self.sampler not in SAMPLERS:
            raise ArchcError(f"--sampler {self.sampler}: expected one of {', '.join(SAMPLERS)}")
        s = optuna.samplers
        if self.sampler == "grid":
            return _grid(optuna)({key: list(range(len(v))) for key, v in self.space.choices.items()}, seed=self.seed)
        if self.sampler == "nsga2":
            return s.NSGAIISampler(seed=self.seed, population_size=max(8, min(50, self.total() // 25)),
                                   mutation=_step_mutation(optuna))
        return _tpe(optuna)(seed=self.seed, multivariate=True, n_startup_trials=max(10, self.total() // 10))

    def _tell(self, optuna, study, trial, row: dict) -> bool:
        """Record the row; a trial whose task failed is FAIL (asked again on resume), any other COMPLETE
        with the sum of its constraints' positive excesses, each relative to its bound (0 for one never
        measured because an earlier one broke: 0.1 is 10% over), so that budgets in ms and in MACs add up
        comparably (one Optuna constraint, EXCESS).
        TPE and NSGA-II rank infeasible trials by their summed excess: an unbuildable configuration
        gets INVALID, so that one over budget (measured, and nearer) always ranks above it (with
        1.0, a PPM refusal outranked every configuration more than 1 ms over a 20 ms budget; on the
        thesis table that changed little, benchmarks/search_samplers.md)."""
        trial.set_user_attr("row", row)
        if row["status"] == "failed":
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return False
        built = row["status"] in ("ok", "infeasible")
        excess = [0.0 if built else INVALID] + [v if v is not None and built else 0.0
                                                for _, v in judge(self.evaluator.constraints, row)]
        if (total := sum(max(v, 0.0) for v in excess)) > 0:  # a feasible trial has none: Optuna reads none as
            trial.set_constraint(EXCESS, total)                # feasible, and its samplers parse none on every ask
        study.tell(trial, [self._value(o, row) for o in self.objectives])
        return True

    @staticmethod
    def _value(objective: Objective, row: dict) -> float:
        value = row.get(objective.column)
        if value is None or row["status"] not in ("ok", "infeasible"):
            return -WORST if objective.maximize else WORST
        return float(value)



def _grid(optuna):
    """GridSampler whose after_trial leaves stopping to this loop: its study.stop() is for optimize()
    and raises under ask/tell once the grid is done."""

    class Grid(optuna.samplers.GridSampler):
        def after_trial(self, study, trial, state, values) -> None:
            return None

    return Grid


def _tpe(optuna):
    """Optuna's TPESampler keeping what each finished trial contributes (archc.search.tpe); imported only
    when a search samples with TPE."""
    from archc.search.tpe import KeptTPE

    return KeptTPE


def _step_mutation(optuna):
    """NSGA-II's mutation as a step along a knob's ordered values: polynomial mutation (Deb et al.
    2002) with eta 2 on the value index moves it mostly by one or two places, where the default
    redraws it from the whole range (on the thesis table under a 20 ms budget: the exhaustive best
    in 8/10 runs instead of 3/10, benchmarks/search_samplers.md). Optuna 5 marks it experimental."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.nsgaii.PolynomialMutation(eta=2.0)


def _params_key(trial) -> str:
    return json.dumps(trial.params, sort_keys=True)


def _FINISHED(optuna):
    return (optuna.trial.TrialState.COMPLETE,)


def needs(objectives) -> set:
    """The stages the objectives need measured (the constraints add their own)."""
    return {stage_of(o.column) for o in objectives} - {"analysis"}


def _stale_params(trial, sampler) -> dict:
    """The values a trial interrupted before all its values were suggested stands for: a grid trial's
    from the grid point it was given (GridSampler keeps its shuffled grid in `_all_grids`, the names in
    `_param_names`; without them, as far as the trial's values go), any other trial's as far as they go
    (an incomplete one is sampled afresh)."""
    grids, names = getattr(sampler, "_all_grids", None), getattr(sampler, "_param_names", None)
    grid_id = trial.system_attrs.get("grid_id")
    if grid_id is None or grids is None or names is None:
        return dict(trial.params)
    return dict(zip(names, grids[grid_id]))


def _rdb(optuna, storage: str | None):
    """The storage; a SQLite file waits up to a minute for another process's write (the default 5 s is
    short for joined processes on a loaded machine)."""
    if storage is None or not storage.startswith("sqlite"):
        return storage
    return optuna.storages.RDBStorage(storage, engine_kwargs={"connect_args": {"timeout": 60}})


def _fail_dead(optuna, study, seat, n_choices: int) -> None:
    """Trials left running by a process that is gone (killed, or this one's earlier run) run again: each is
    failed and its values queued; another live process's running trials are left to it."""
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if seat.other(stale.user_attrs.get("pid")):
            continue
        params = _stale_params(stale, study.sampler)
        if len(params) == n_choices:  # a trial the killed process left half done runs again
            study.enqueue_trial(params)
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)


def _requeue_lost_points(optuna, study, n_choices: int) -> None:
    """Grid points whose only trials failed (a run interrupted while they ran): Optuna counts a failed trial's
    point as visited, so without this they would be reached only by the sampler's random revisits."""
    state = optuna.trial.TrialState
    key = lambda params: json.dumps(params, sort_keys=True)  # noqa: E731
    done = {key(t.params) for t in study.get_trials(deepcopy=False, states=(state.COMPLETE,))}
    queued = {key(t.params) for t in study.get_trials(deepcopy=False, states=(state.WAITING,))}
    for trial in study.get_trials(deepcopy=False, states=(state.FAIL,)):
        params = _stale_params(trial, study.sampler)
        if len(params) == n_choices and key(params) not in done | queued:
            study.enqueue_trial(params)
            queued.add(key(params))
