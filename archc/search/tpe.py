"""archc's TPE: Optuna's TPESampler keeping what a finished trial contributes (its values in internal form, which
side of the split it can fall on and by what score) instead of recomputing it for every trial of the study on
every ask: Optuna converts every trial's values twice per ask and parses every trial's constraints from its
system attributes once per ask, which made the sampler's Python work quadratic in trials (at 2,000 trials,
most of its time). A finished trial's params, values and constraints never change, so the split, the arrays it
builds and what it samples are the same (tests/test_search.py compares proposals with Optuna's own TPE,
constant liar on, as Optuna 5 defaults). With several objectives Optuna's own split runs (its non-domination
ranks), on the kept arrays.

It relies on TPESampler's private methods (`_sample`, `_get_internal_repr`, `_build_parzen_estimator`) and on
its split's helpers (`_split_complete_trials` and the like), as in Optuna 5.1; the comparison test fails when
an Optuna release changes them."""
from __future__ import annotations

import numpy as np
import optuna
from optuna.samplers._tpe import sampler as tpe


class KeptTPE(optuna.samplers.TPESampler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._slots = {}  # (search space) -> finished trial id -> its row in self._table[space], or -1
        self._table = {}  # (search space) -> values of the finished trials in internal form, a row each
        self._kinds = {}  # finished trial id -> its side of the split: ("infeasible", score) or its state

    def _get_internal_repr(self, trials, search_space, study):
        space = tuple(search_space.items())
        slots, kept, order, running = self._slots.setdefault(space, {}), [], [], []
        table = self._table.get(space, np.empty((0, len(search_space))))
        for t in trials:
            slot = slots.get(t._trial_id)
            if slot is None:
                params = self._get_params(t, study)  # a trial without every value is left out, as in Optuna
                row = [d.to_internal_repr(params[n]) for n, d in search_space.items()] \
                    if search_space.keys() <= params.keys() else None
                if not t.state.is_finished():  # running (the constant liar's): read afresh on every ask
                    running += [(len(order), row)] if row is not None else []
                    order += [-2] if row is not None else []
                    continue
                slot = slots[t._trial_id] = -1 if row is None else len(table) + len(kept)
                kept += [row] if row is not None else []
            order += [slot] if slot >= 0 else []
        if kept:
            table = self._table[space] = np.vstack([table, np.array(kept, dtype=float)])
        order = np.array(order, dtype=np.int64)
        out = np.empty((len(order), len(search_space)))
        out[order >= 0] = table[order[order >= 0]]
        for position, row in running:
            out[position] = row
        return {name: np.ascontiguousarray(out[:, i]) for i, name in enumerate(search_space)}

    def _sample(self, study, trial, search_space):
        if study._is_multi_objective():
            return super()._sample(study, trial, search_space)
        state = tpe.TrialState
        liar = (state.RUNNING,) if self._constant_liar else ()
        trials = study._get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED, *liar),
                                   use_cache=not self._constant_liar)
        trials = [t for t in trials if t.number != trial.number] if self._constant_liar else trials
        self._gamma = self._gamma or tpe.default_gamma
        below, above = self._split(study, trials, self._gamma(sum(t.state != state.RUNNING for t in trials)))
        lo = self._build_parzen_estimator(study, search_space, below, handle_below=True)
        hi = self._build_parzen_estimator(study, search_space, above, handle_below=False)
        samples = lo.sample(self._rng.rng, self._n_ei_candidates)
        best = self._compare(samples, self._compute_acquisition_func(samples, lo, hi))
        return {name: d.to_external_repr(best[name]) for name, d in search_space.items()}

    def _split(self, study, trials, n_below):
        """Optuna's split (tpe._split_trials) with a finished trial's side and infeasibility score read
        once; running trials (the constant liar's) count among the worse."""
        sides = {"complete": [], "pruned": [], "infeasible": [], "running": []}
        for t in trials:
            kind = self._kinds.get(t._trial_id)
            if kind is None and t.state == tpe.TrialState.RUNNING:
                kind = ("running", 0.0)  # its constraints are not set yet: not kept
            elif kind is None:
                score = tpe._get_infeasible_trial_score(t)
                kind = self._kinds[t._trial_id] = ("infeasible", score) if score > 0 else \
                    ("complete" if t.state == tpe.TrialState.COMPLETE else "pruned", 0.0)
            sides[kind[0]].append(t)
        below, above = tpe._split_complete_trials(sides["complete"], study, n_below)
        n_below = max(0, n_below - len(below))
        low, high = tpe._split_pruned_trials(sides["pruned"], study, n_below)
        n_below = max(0, n_below - len(low))
        worst = sorted(sides["infeasible"], key=lambda t: self._kinds[t._trial_id][1])
        n_below = min(n_below, len(worst))
        below, above = below + low + worst[:n_below], above + high + worst[n_below:] + sides["running"]
        return sorted(below, key=lambda t: t.number), sorted(above, key=lambda t: t.number)
