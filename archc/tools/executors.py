"""Where a sweep's or a search's tasks run: a local process pool (the default) or Ray core tasks on a
local or remote cluster. Both map a picklable function over jobs and yield the results in job order;
a task that raises or whose worker dies is retried once, then yields a `Failed` (never a crash).

    archc sweep specs/fastscnn.yaml -g width=1,0.5 --executor ray                  # a local Ray cluster
    archc sweep specs/fastscnn.yaml -g width=1,0.5 --executor ray --address auto   # `ray start --head` first

Tasks return their files' bytes (an exported model, a checkpoint) rather than paths, so that a task
on another machine of the cluster hands its files to the driver. Ray is imported only here.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from archc.errors import ArchcError

EXECUTORS = ("local", "ray")
RETRIES = 1  # a failed or lost task runs once more, then it is reported as failed


@dataclass(frozen=True)
class Failed:
    """What a task that failed twice yields in place of its result."""

    reason: str


def _guarded(fn, job):
    """Run `fn(job)` up to RETRIES + 1 times in this worker; the last error becomes a Failed."""
    for attempt in range(RETRIES + 1):
        try:
            return fn(job)
        except ArchcError:
            raise  # a user error is the same on every try: the caller reports it
        except Exception as exc:  # noqa: BLE001 - a task's bug or a lost resource must not end the run
            if attempt == RETRIES:
                return Failed(f"{type(exc).__name__}: {exc}")
    raise AssertionError("unreachable")


@dataclass
class LocalExecutor:
    """Spawned worker processes on this machine (forking a process that has loaded torch can deadlock
    on locks its OpenMP threads held at the fork); a handful of jobs runs in this process instead."""

    workers: int = 0  # 0: all cores
    name = "local"

    def map(self, fn, jobs: list, progress=None, chunksize: int = 1, inline_below: int = 0):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        task = functools.partial(_guarded, fn)
        workers = min(self.workers or os.cpu_count() or 1, len(jobs))
        if workers <= 1 or len(jobs) < inline_below:  # spawning workers costs more than a few builds
            for job in jobs:
                yield task(job)
                progress and progress()
            return
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for result in pool.map(task, jobs, chunksize=chunksize):
                yield result
                progress and progress()


@dataclass
class RayExecutor:
    """Ray core tasks (about 0.5 ms each, against about 1.5 s a trial under Ray Tune). `address` None
    starts a local cluster with `workers` CPUs; 'auto' or HOST:PORT joins a running one."""

    address: str | None = None
    workers: int = 0  # CPUs of a local cluster (0: all cores)
    name = "ray"

    def map(self, fn, jobs: list, progress=None, chunksize: int = 1, inline_below: int = 0):
        ray = _ray()
        self.connect()
        # max_retries covers a dead worker; retry_exceptions an error raised inside the task
        remote = ray.remote(max_retries=RETRIES, retry_exceptions=True)(_call)
        refs = [remote.remote(fn, job) for job in jobs]
        for ref in refs:
            try:
                result = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                result = Failed(f"{type(exc.cause).__name__}: {exc.cause}")
            except ray.exceptions.RayError as exc:  # the worker or its node was lost twice
                result = Failed(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            if isinstance(result, _UserError):
                raise result.error
            yield result
            progress and progress()

    def connect(self) -> None:
        ray = _ray()
        if ray.is_initialized():
            return
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:  # the workers import the archc this driver runs, wherever it lies
                home = str(Path(__file__).resolve().parents[2])
                ray.init(address="local", num_cpus=self.workers or None, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"PYTHONPATH": home}})
        except ConnectionError as exc:
            raise ArchcError(f"--address {self.address}: no Ray cluster there ({str(exc).splitlines()[0]}); "
                             f"start one with `ray start --head --port=6379`") from None


@dataclass(frozen=True)
class _UserError:
    error: ArchcError


def _call(fn, job):
    """A Ray task. A user error comes back as a value: retrying it would only fail again."""
    try:
        return fn(job)
    except ArchcError as exc:
        return _UserError(exc)


def _ray():
    try:
        import ray
    except ImportError:
        raise ArchcError('--executor ray needs Ray: pip install "archc[ray]"') from None
    return ray


def executor(name: str = "local", address: str | None = None, workers: int = 0):
    """`--executor NAME [--address A]` -> an executor."""
    if name not in EXECUTORS:
        raise ArchcError(f"--executor {name}: expected one of {', '.join(EXECUTORS)}")
    if address and name != "ray":
        raise ArchcError(f"--address {address} needs --executor ray")
    return RayExecutor(address, workers) if name == "ray" else LocalExecutor(workers)
