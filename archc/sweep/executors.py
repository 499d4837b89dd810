"""Where a sweep's or a search's tasks run: a local process pool (the default) or Ray core tasks on a
local or remote cluster. Both map a picklable function over jobs and yield the results in job order (calling
`progress(result)` for each);
a task that raises or whose worker dies is retried once, then yields a `Failed` (never a crash).

    archc sweep specs/fastscnn.yaml -g width=1,0.5 --executor ray                  # a local Ray cluster
    archc sweep specs/fastscnn.yaml -g width=1,0.5 --executor ray --address auto   # `ray start --head` first

Tasks return their files' bytes (an exported model, a checkpoint) rather than paths, so that a task
on another machine of the cluster hands its files to the driver. Ray is imported only here.
"""
from __future__ import annotations

import functools
import os
import time
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
    on locks its OpenMP threads held at the fork); a handful of jobs runs in this process instead.
    No worker outlives the run: they end with an interrupted run and with a killed parent."""

    workers: int = 0  # 0: all cores
    name = "local"

    def map(self, fn, jobs: list, progress=None, chunksize: int = 1, inline_below: int = 0, inline_while: float = 0):
        """`inline_while` (seconds): run the jobs here, in order, while the rest looks like taking no longer
        than that (judged after half a second of them); only a longer rest goes to spawned workers,
        which first import archc and start with empty memories (an analysis-only sweep rarely pays it)."""
        task = functools.partial(_guarded, fn)
        workers = min(self.workers or os.cpu_count() or 1, len(jobs))
        if workers <= 1 or len(jobs) < inline_below:  # spawning workers costs more than a few builds
            inline_while = float("inf")
        done, start = 0, time.perf_counter()
        while done < len(jobs) and _stays_here(time.perf_counter() - start, done, len(jobs) - done, inline_while):
            result = task(jobs[done])
            done += 1
            progress and progress(result, jobs[done - 1])  # before the yield (a zip over the results
            yield result  # stops at the last one)
        if done == len(jobs):
            return
        pool = _pool(min(workers, len(jobs) - done))
        try:
            yield from _as_done(pool, task, jobs[done:], progress)
        except BaseException:  # SIGINT, SIGTERM, an error: no worker outlives the run
            _end_workers(pool)
            raise


def _as_done(pool, task, jobs: list, progress):
    """Results in the jobs' order, each told to `progress(result, job)` as soon as it is done (a slow first
    job holds back the yields, not the progress lines: `sweep --train` printed its lines in one burst at the
    end). One job per task: chunks would hold lines back again."""
    from concurrent.futures import as_completed

    futures = [pool.submit(task, job) for job in jobs]
    index, finished, following = {f: i for i, f in enumerate(futures)}, set(), 0
    for future in as_completed(futures):
        progress and progress(future.result(), jobs[index[future]])
        finished.add(index[future])
        while following in finished:
            if following == len(jobs) - 1:  # before the last yield: a zip that stops there never resumes
                pool.shutdown()  # this generator, and a pool left to the exit leaks its queues' semaphores
            yield futures[following].result()
            following += 1


def _stays_here(elapsed: float, done: int, left: int, limit: float) -> bool:
    if limit <= 0:
        return False
    return elapsed < 0.5 or elapsed / done * left <= limit


def _pool(workers: int):
    """Fresh (spawned) workers, each ending when its parent is gone."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_follow_parent, initargs=(os.getpid(),))


def _follow_parent(parent: int) -> None:
    """A worker whose run was killed (even SIGKILL) ends within a second instead of idling on."""
    import threading
    import time

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _end_workers(pool) -> None:
    """Stop the workers now (Python 3.14 has pool.terminate_workers(); before it, its process table),
    then wait for the pool's manager thread: it closes its wake-up pipe as it ends, and Python 3.11's
    exit hook writes to that pipe unless it is marked closed, racing it ('Exception ignored ...
    OSError: Bad file descriptor' after a SIGTERM's one line)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(5)
    if manager is not None:
        manager.join(5)


@dataclass
class RayExecutor:
    """Ray core tasks (about 0.5 ms each, against about 1.5 s a trial under Ray Tune). `address` None
    starts a local cluster with `workers` CPUs; 'auto' or HOST:PORT joins a running one."""

    address: str | None = None
    workers: int = 0  # CPUs of a local cluster (0: all cores)
    name = "ray"

    def map(self, fn, jobs: list, progress=None, chunksize: int = 1, inline_below: int = 0, inline_while: float = 0):
        ray = _ray()
        self.connect()
        # max_retries covers a dead worker; retry_exceptions an error raised inside the task
        remote = ray.remote(max_retries=RETRIES, retry_exceptions=True)(_call)
        refs = [remote.remote(fn, job) for job in jobs]
        for job, ref in zip(jobs, refs):
            try:
                result = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                result = Failed(f"{type(exc.cause).__name__}: {exc.cause}")
            except ray.exceptions.RayError as exc:  # the worker or its node was lost twice
                result = Failed(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            if isinstance(result, _UserError):
                raise result.error
            progress and progress(result, job)
            yield result

    def connect(self) -> None:
        ray = _ray()
        if ray.is_initialized():
            return
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:  # a new local cluster (not one another run left); its workers import this archc
                home = str(Path(__file__).resolve().parents[2])
                ray.init(address="local", num_cpus=self.workers or None, include_dashboard=False,
                         log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": home}})
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
    if address and address != "auto":
        _probe(address)
    return RayExecutor(address, workers) if name == "ray" else LocalExecutor(workers)


def _probe(address: str, timeout: float = 5.0) -> None:
    """`--address [ray://]HOST:PORT` answers on TCP, checked in seconds before Ray is started (ray.init waits
    for minutes on an address where nothing listens, printing its own logs)."""
    import re
    import socket

    m = re.fullmatch(r"(?:ray://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})", address.strip())
    if not m or not 0 < int(m[2]) < 65536:
        raise ArchcError(f"--address {address}: expected HOST:PORT (e.g. 127.0.0.1:6379), ray://HOST:PORT or auto")
    try:
        socket.create_connection((m[1].strip("[]"), int(m[2])), timeout=timeout).close()
    except OSError as exc:
        raise ArchcError(f"--address {address}: no Ray cluster there (nothing answers: {exc.strerror or exc}); "
                         f"start one with `ray start --head --port={m[2]}` or give its address") from None
