"""`search`: the best configuration of a space under budgets (Optuna), run locally or on Ray."""
from __future__ import annotations

from archc.app import requests as rq
from archc.app.values import QUIET, Hooks
from archc.errors import ArchcError


def search(request: rq.Search, hooks: Hooks = QUIET):
    """Search the space for the best configuration under budgets; resumable. Returns the search's Outcome
    (rows of every finished trial, the feasible front best first, the winner or None)."""
    from archc.lang.library import resolve_spec
    from archc.search.run import SearchRequest, make_search, run_search
    from archc.search.stages import PROFILE
    from archc.sweep.executors import executor as make_executor

    r = request
    _check(r)
    device = r.device.target()
    if r.device.host and r.runtime != "ort":
        raise ArchcError(f"--runtime {r.runtime}: a device (--host) times ONNX Runtime; leave --runtime out")
    train = {"epochs": r.train, "data": str(r.data)} if r.train else None
    executor = make_executor(r.executor, r.address, r.jobs)
    spec = str(resolve_spec(r.source.spec))
    req = SearchRequest(spec, str(r.space), list(r.objectives), list(r.budgets), r.sampler, r.trials,
                        r.seed, dict(r.source.variables), train, r.storage, executor,
                        profile=dict(PROFILE, runs=r.runs, warmup=r.warmup, threads=r.threads, runtime=r.runtime),
                        build=r.build, latency_model=str(r.latency_model) if r.latency_model else None,
                        target=device if r.device.host else None, join=r.join)
    total = make_search(req, r.out).total()  # the request's mistakes, and the count the progress shows
    with hooks.progress(total, "search") as step:
        step("started", 0)  # a line at once: the first trials may take minutes
        return run_search(req, r.out, step)


def _check(r: rq.Search) -> None:
    """The request's own errors, before any work."""
    from archc.measure.profile import check_runs, check_threads
    from archc.search.stages import RUNTIMES

    check_runs(r.runs, r.warmup)
    check_threads(r.threads, r.device.host is not None)
    if (r.train is None) != (r.data is None):
        raise ArchcError("--train EPOCHS and --data DIR go together")
    if r.runtime not in RUNTIMES:
        raise ArchcError(f"--runtime {r.runtime}: expected one of {', '.join(RUNTIMES)}")
    if r.trials is not None and r.trials < 1:
        raise ArchcError(f"--trials {r.trials}: must be >= 1")
