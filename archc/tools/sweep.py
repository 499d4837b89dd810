"""Sweeps: the cartesian product of pass settings, analysed in parallel, cached by
content so a re-run or an extended grid only does the new work.

    run_sweep("specs/fastscnn.yaml", {"width": ["1", "0.5"], "drop": ["none", "ppm"]})

A grid value `none` leaves that pass out. A combination that a pass refuses
(e.g. PPM bins larger than the feature map) is kept as `skipped` with its reason.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from archc.errors import ArchcError
from archc.tools.cache import Cache, config_of

CACHE_VERSION = "1"
COLUMNS = ("config", "status", "params", "macs", "activation_bytes", "median_ms", "fps", "reason")


@dataclass
class Result:
    config: str  # the passes, space separated: "width=0.5 drop=ppm"
    knobs: dict  # grid name -> value
    status: str = "ok"  # ok or skipped
    reason: str = ""
    params: int | None = None
    macs: int | None = None
    activation_bytes: int | None = None
    median_ms: float | None = None
    fps: float | None = None

    def row(self) -> dict:
        return {**{c: getattr(self, c) for c in COLUMNS}, **self.knobs}


def parse_grid(items) -> dict:
    """['width=1,0.5', 'drop=none,ppm'] -> {'width': ['1', '0.5'], 'drop': ['none', 'ppm']}."""
    grid = {}
    for item in items:
        name, sep, values = item.partition("=")
        vals = [v.strip() for v in values.split(",") if v.strip()] if sep else []
        if not name.strip() or not vals:
            raise ArchcError(f"--grid {item}: expected NAME=V1,V2,..., e.g. --grid width=1,0.5,0.25")
        if name.strip() in grid:
            raise ArchcError(f"--grid {name.strip()} is given twice; list all its values in one --grid")
        grid[name.strip()] = vals
    return grid


def configurations(grid: dict) -> list[dict]:
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def passes_of(knobs: dict) -> list[str]:
    return [f"{name}={value}" for name, value in knobs.items() if value.lower() != "none"]


def _pipeline(knobs: dict, input_: str | None) -> list[str]:
    """A configuration's passes; --input applies last, as on every command (see compile_spec)."""
    return passes_of(knobs) + ([f"input={input_},strict=false"] if input_ else [])


def check_grid(grid: dict) -> None:
    """Fail before any work if a grid value is not a valid pass (unknown name, bad value)."""
    from archc.passes import parse_pass

    for name, values in grid.items():
        for v in values:
            if v.lower() != "none":
                parse_pass(f"{name}={v}")


def _key(spec_text: str, variables: dict, input_, passes: list, profile: dict | None) -> str:
    blob = json.dumps([CACHE_VERSION, spec_text, variables, input_, passes, profile], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@lru_cache(maxsize=4)
def _spec(path: str, text: str, variables: str):
    """Each worker reads and validates the spec once per sweep, not once per configuration."""
    from archc.lang.spec import load

    return load(path, json.loads(variables), text)


_PREFIXES: dict = {}  # (spec key, passes so far) -> the Spec they give, per worker process


def _through(spec, key: str, passes: list):
    """`spec` after `passes`, reusing the longest prefix already computed in this process:
    configurations of a grid share their first passes (630 thesis configurations, 41 prefixes)."""
    from archc.passes import run_pipeline

    n = next((i for i in range(len(passes), 0, -1) if (key, tuple(passes[:i])) in _PREFIXES), 0)
    if n:
        spec = _PREFIXES[(key, tuple(passes[:n]))]
    for i in range(n, len(passes)):
        spec = run_pipeline(spec, [passes[i]], before=tuple(passes[:i]))
        if len(_PREFIXES) > 4096:
            _PREFIXES.clear()
        _PREFIXES[(key, tuple(passes[:i + 1]))] = spec
    return spec


def _analyse(job) -> Result:
    """One configuration (in a worker process): compile + analyse, or the reason it is invalid."""
    spec_path, text, variables, input_, knobs = job
    from archc.ir.analysis import analyze
    from archc.ir.build import build

    config = config_of(knobs)
    try:
        vkey = json.dumps(variables, sort_keys=True)
        spec = _through(_spec(spec_path, text, vkey), f"{spec_path}|{hash(text)}|{vkey}", _pipeline(knobs, input_))
        r = analyze(build(spec))
    except ArchcError as exc:
        return Result(config, knobs, "skipped", exc.message)
    return Result(config, knobs, params=r.params, macs=r.macs, activation_bytes=r.activation_bytes)


def _export(job) -> str:
    """One configuration exported to ONNX (in a worker process), for timing."""
    spec_path, input_, variables, knobs, path = job
    from archc.compile import compile_spec
    from archc.onnx.export import export_onnx

    return str(export_onnx(compile_spec(spec_path, _pipeline(knobs, input_), None, variables).graph, path).path)


def _pool(workers: int) -> ProcessPoolExecutor:
    """Fresh (spawned) workers: forking a process that has loaded torch can deadlock on
    locks its OpenMP threads held at the fork. Each exits when its parent is gone."""
    import multiprocessing

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_follow_parent, initargs=(os.getpid(),))


def _follow_parent(parent: int) -> None:
    """A worker whose sweep was killed (even SIGKILL) ends within a second instead of idling on."""
    import threading
    import time

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now (Python 3.14 has pool.terminate_workers(); before it, its process table)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(5)


@dataclass
class Sweep:
    spec: str
    grid: dict
    input: str | None = None
    variables: dict = field(default_factory=dict)
    jobs: int = 0  # 0: all cores

    def run(self, out: Path | None = None, profile: dict | None = None, progress=None) -> list[Result]:
        from archc.lang.yamlio import read_text

        text = read_text(self.spec)
        check_grid(self.grid)
        cache, todo, results = Cache(out), [], {}
        configs = configurations(self.grid)
        for i, knobs in enumerate(configs):
            key = _key(text, self.variables, self.input, passes_of(knobs), profile)
            hit = cache.get(key, knobs)
            if hit is not None:
                results[i] = Result(**hit)
            else:
                todo.append((i, key, (self.spec, text, self.variables, self.input, knobs)))
        for (i, key, _), result in zip(todo, self._map([job for _, _, job in todo], progress)):
            results[i] = result
            if profile is None or result.status != "ok":
                cache.put(key, asdict(result))
        if profile is not None:
            self._profile([results[i] for i, _, _ in todo], profile, progress)
            for i, key, _ in todo:
                cache.put(key, asdict(results[i]))
        return [results[i] for i in range(len(configs))]

    def _map(self, jobs: list, progress):
        workers = self.jobs or os.cpu_count() or 1
        if workers == 1 or len(jobs) < 16:  # spawning workers costs more than a few builds
            for job in jobs:
                yield _analyse(job)
                progress and progress()
            return
        yield from self._pool_map(_analyse, jobs, progress, chunksize=max(1, len(jobs) // (workers * 8)))

    def _profile(self, results: list[Result], settings: dict, progress) -> None:
        """ONNX Runtime latency of every valid new configuration: exported in parallel, then
        timed in this one process with their runs interleaved, so that no two timings compete
        for the cores and drift on a shared machine hits all of them alike."""
        from archc.fs import temp_dir
        from archc.onnx.profile import measure, ort_runner

        ok = [r for r in results if r.status == "ok"]
        if not ok:
            return
        with temp_dir("archc-sweep") as tmp:
            jobs = [(self.spec, self.input, self.variables, r.knobs, f"{tmp}/{i}.onnx") for i, r in enumerate(ok)]
            paths = list(self._pool_map(_export, jobs, progress))
            runners = {str(i): ort_runner(path, settings["threads"]) for i, path in enumerate(paths)}
            timings = measure(runners, settings["warmup"], settings["runs"])
        for i, r in enumerate(ok):
            r.median_ms, r.fps = timings[str(i)]["median_ms"], timings[str(i)]["fps"]

    def _pool_map(self, fn, jobs: list, progress, chunksize: int = 1):
        workers = min(self.jobs or os.cpu_count() or 1, len(jobs))
        pool = _pool(max(1, workers))
        try:
            for result in pool.map(fn, jobs, chunksize=chunksize):
                yield result
                progress and progress()
        except BaseException:  # SIGINT, SIGTERM, an error: no worker outlives the sweep
            _end_workers(pool)
            raise
        pool.shutdown()

def write_results(results: list[Result], out: Path) -> None:
    """results.csv and results.json in `out` (each written atomically)."""
    import csv
    import io

    from archc.fs import atomic_file

    rows = [r.row() for r in results]
    fields = list(COLUMNS) + [k for k in (rows[0] if rows else {}) if k not in COLUMNS]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    with atomic_file(out / "results.csv") as tmp:
        tmp.write_text(buf.getvalue())
    with atomic_file(out / "results.json") as tmp:
        tmp.write_text(json.dumps(rows, indent=1) + "\n")
