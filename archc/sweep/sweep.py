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
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from archc.errors import ArchcError
from archc.sweep.cache import FIELDS, Cache
from archc.sweep.executors import Failed, LocalExecutor
# one table, one writer (archc.sweep.results), named here too
from archc.sweep.results import COLUMNS, LOWER_IS_BETTER, lower_is_better, write_rows  # noqa: F401
from archc.version import VERSION

CACHE_VERSION = "1"


@dataclass
class Result:
    config: str  # the passes, space separated: "width=0.5 drop=ppm"
    knobs: dict  # grid name -> value
    status: str = "ok"  # ok, skipped (a pass refused it) or failed (its task failed twice)
    reason: str = ""
    params: int | None = None
    macs: int | None = None
    activation_bytes: int | None = None
    median_ms: float | None = None
    fps: float | None = None
    predicted_ms: float | None = None  # from --latency-model
    miou: float | None = None  # set by the training stage (archc.sweep.sweep_train), with --train
    run: str = ""  # its run folder under DIR/train_runs/, with --train
    device: dict = field(default_factory=dict)  # profiled with --host: the device (host, cpu, onnxruntime, threads)

    def row(self) -> dict:
        timed_on = {"device": self.device} if self.device else {}
        return {**{c: getattr(self, c) for c in COLUMNS}, **self.knobs, **timed_on}


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
    """{'width': '0.5', 'expand@gfe.1': '4'} -> ['width=0.5', 'expand=4,where=gfe.1']: NAME@WHERE
    is a pass on part of the network (a selector, see docs/passes.md)."""
    return [_pass(name, value) for name, value in knobs.items() if value.lower() != "none"]


def _pass(knob: str, value: str) -> str:
    name, at, where = knob.partition("@")
    return f"{name}={value},where={where}" if at else f"{name}={value}"


def _pipeline(knobs: dict, input_: str | None) -> list[str]:
    """A configuration's passes; --input applies last, as on every command (see compile_spec)."""
    return passes_of(knobs) + ([f"input={input_},strict=false"] if input_ else [])


def check_grid(grid: dict) -> None:
    """Fail before any work if a grid value is not a valid pass (unknown name, bad value)."""
    from archc.passes import parse_pass

    for name, values in grid.items():
        for v in values:
            if v.lower() != "none":
                parse_pass(_pass(name, v))


def code_digest() -> str:
    """archc's version and the text of its source and block library: a changed archc
    (a release or a development edit) never reads an older archc's cached rows."""
    root, h = Path(__file__).resolve().parents[1], hashlib.sha256(VERSION.encode())
    for f in sorted(root.rglob("*")):
        if f.suffix in (".py", ".yaml", ".json") and f.is_file():
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _key(code: str, spec, variables: dict, input_, passes: list, profile: dict | None) -> str:
    """The cache key: every file the spec read (itself and its imports, by content), the
    variables, input, passes and profile settings, and archc itself (`code_digest`)."""
    sources = [digest for _, digest in spec.sources]
    blob = json.dumps([CACHE_VERSION, code, sources, variables, input_, passes, profile], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _through(spec, passes: list, prefixes: dict, ws):
    """`spec` after `passes`, from the longest prefix already computed in this chunk; the workspace remembers
    each pass's result (ws.applied), so configurations of a grid that share their first passes apply them
    once (630 thesis configurations, 41 prefixes), and run_pipeline builds only the result."""
    from archc.passes import run_pipeline

    n = next((i for i in range(len(passes), 0, -1) if tuple(passes[:i]) in prefixes), 0)
    if n:
        spec = prefixes[tuple(passes[:n])]
    spec = run_pipeline(spec, passes[n:], before=tuple(passes[:n]), workspace=ws)  # only the result is built
    prefixes[tuple(passes)] = spec
    return spec


def _analyse(spec, input_, knobs: dict, prefixes: dict, ws, latency: dict | None = None) -> Result:
    """One configuration: compile + analyse (+ predict latency), or the reason it is invalid. `prefixes`
    is the chunk's memo (pass prefix -> Spec), `ws` the sweep's workspace (archc.ir.workspace)."""
    from archc.ir.analysis import analyze

    config = _config(knobs)
    try:
        graph = ws.graph(_through(spec, _pipeline(knobs, input_), prefixes, ws))
        r = analyze(graph)
    except ArchcError as exc:
        return Result(config, knobs, "skipped", exc.message)
    return Result(config, knobs, params=r.params, macs=r.macs, activation_bytes=r.activation_bytes,
                  predicted_ms=_predict(latency, graph))


def _predict(latency: dict | None, graph) -> float | None:
    """--latency-model: the predicted ms (the model's JSON travels to the worker)."""
    if latency is None:
        return None
    from archc.measure.latency_model import LatencyModel

    return round(LatencyModel.from_json(latency).predict(graph), 4)


def _analyse_chunk(job) -> list[Result]:
    """Consecutive configurations, sharing their memos: neighbours in the grid's product order share
    pass prefixes, so most of their specs are made once. The workspace is the sweep's own when the
    chunk runs in its process, an empty one in a worker process (a workspace travels empty)."""
    spec, input_, chunk, latency, ws = job
    prefixes = {}
    return [_analyse(spec, input_, knobs, prefixes, ws, latency) for knobs in chunk]


def _export(job) -> bytes:
    """One configuration exported to ONNX (in a worker, maybe on another machine): the model's bytes."""
    import tempfile

    spec_path, input_, variables, knobs = job
    from archc.compile import compile_spec
    from archc.onnx.export import export_onnx

    with tempfile.TemporaryDirectory(prefix="archc-export-") as tmp:
        graph = compile_spec(spec_path, _pipeline(knobs, input_), None, variables).graph
        return Path(export_onnx(graph, f"{tmp}/model.onnx").path).read_bytes()


assert set(FIELDS) == {f.name for f in fields(Result)}, "a Result field the cache does not check"


def _config(knobs: dict) -> str:
    return " ".join(passes_of(knobs)) or "(baseline)"


@dataclass
class Sweep:
    spec: str
    grid: dict
    input: str | None = None
    variables: dict = field(default_factory=dict)
    jobs: int = 0  # 0: all cores (an analysis-only sweep stays in this process while it is short)
    latency_model: dict | None = None  # a fitted model's JSON: predict each configuration's latency
    target: object = None  # archc.measure.targets.Target: time on a device over SSH (None: here, interleaved)
    executor: object = None  # where the tasks run (archc.sweep.executors); None: a local pool of `jobs`
    code: str = ""  # code_digest(), worked out on the first evaluate
    _workspace: object = field(default=None, repr=False, compare=False)  # see workspace()
    _spec: object = field(default=None, repr=False, compare=False)  # the parsed spec, see evaluate()

    def workspace(self):
        """This sweep's workspace (archc.ir.workspace): its compiles' memories, made on first use and
        kept for the sweep's life (a search asks one sweep for every batch)."""
        if self._workspace is None:
            from archc.ir.workspace import Workspace

            self._workspace = Workspace()
        return self._workspace

    def run(self, out: Path | None = None, profile: dict | None = None, progress=None) -> list[Result]:
        check_grid(self.grid)
        return self.evaluate(configurations(self.grid), out, profile, progress)

    def evaluate(self, configs: list[dict], out: Path | None = None, profile: dict | None = None,
                 progress=None) -> list[Result]:
        """These configurations (grid name -> value), through the cache at `out`, in their order."""
        from archc.lang.spec import load

        # read once per Sweep (a search asks it for every batch of 4: re-parsing the YAML each time was 6% of
        # a 2,000-trial search's CPU, benchmarks/search_speed.md); workers get the Spec, not the file
        spec = self._spec = self._spec or load(self.spec, self.variables)
        cache, todo, results = Cache(out), [], {}
        code = self.code = self.code or code_digest()  # archc's sources, hashed once per Sweep (a search: per batch)
        keyed = profile if self.latency_model is None else {**(profile or {}), "latency_model": self.latency_model}
        for i, knobs in enumerate(configs):
            key = _key(code, spec, self.variables, self.input, passes_of(knobs), keyed)
            hit = cache.get(key, knobs, _config(knobs))
            if hit is not None:
                results[i] = Result(**hit)
            else:
                todo.append((i, key, knobs))
        for (i, key, knobs), result in zip(todo, self._map(spec, [knobs for _, _, knobs in todo], progress)):
            results[i] = _failed(knobs, result) if isinstance(result, Failed) else result
            if (profile is None or results[i].status != "ok") and results[i].status != "failed":
                cache.put(key, asdict(result))
        if profile is not None:
            self._profile([results[i] for i, _, _ in todo], profile, progress)
            for i, key, _ in todo:
                if results[i].status != "failed":
                    cache.put(key, asdict(results[i]))
        return [results[i] for i in range(len(configs))]

    def _map(self, spec, configs: list, progress):
        """Results in the order of `configs`, computed in chunks of neighbours (a Failed for each
        configuration of a chunk whose task failed twice)."""
        workers = min(self.jobs or os.cpu_count() or 1, max(1, len(configs) // 16))
        size = -(-len(configs) // (workers * 4)) if workers > 1 else len(configs) or 1
        chunks = [configs[i:i + size] for i in range(0, len(configs), size)]
        jobs = [(spec, self.input, chunk, self.latency_model, self.workspace()) for chunk in chunks]
        # fewer than 16 per worker, or (no --jobs given) a rest of under ~10 s: spawning costs more than the builds
        here = 0 if self.jobs else 10
        for chunk, out in zip(chunks, self._pool_map(_analyse_chunk, jobs, None, inline_below=2, inline_while=here)):
            for result in ([out] * len(chunk) if isinstance(out, Failed) else out):
                progress and progress(f"analysed {getattr(result, 'config', '')}")  # before the yield: zip stops
                yield result

    def _profile(self, results: list[Result], settings: dict, progress) -> None:
        """ONNX Runtime latency of every valid new configuration: exported in parallel, then
        timed in this one process with their runs interleaved, so that no two timings compete
        for the cores and drift on a shared machine hits all of them alike."""
        from archc.fs import temp_dir
        from archc.measure.profile import measure, ort_runner

        ok = [r for r in results if r.status == "ok"]
        if not ok:
            return
        with temp_dir("archc-sweep") as tmp:
            jobs = [(self.spec, self.input, self.variables, r.knobs) for r in ok]
            paths = {}
            models = self._pool_map(_export, jobs, progress, describe=lambda _, job: f"exported {_config(job[3])}")
            for i, (r, model) in enumerate(zip(ok, models)):
                if isinstance(model, Failed):
                    r.status, r.reason = "failed", f"export: {model.reason}"
                    continue
                paths[str(i)] = f"{tmp}/{i}.onnx"
                Path(paths[str(i)]).write_bytes(model)
            if self.target is not None:  # on a device: one model after the other, by the runner script
                from archc.measure.targets import profile_model
                from archc.measure.timing import Timing

                timing = Timing(settings["threads"], settings["runs"], settings["warmup"])
                timings = {i: profile_model(path, self.target, timing) for i, path in paths.items()}
            else:
                runners = {i: ort_runner(path, settings["threads"]) for i, path in paths.items()}
                progress and progress(f"timing {len(runners)} models, {settings['warmup'] + settings['runs']} "
                                      f"interleaved rounds", advance=0)
                timings = measure(runners, settings["warmup"], settings["runs"]) if runners else {}
        for i, r in enumerate(ok):
            if str(i) in timings:
                r.median_ms, r.fps = timings[str(i)]["median_ms"], timings[str(i)]["fps"]
                r.device = timings[str(i)].get("device", {})

    def _pool_map(self, fn, jobs: list, progress, inline_below: int = 0, describe=lambda result, job: "",
                  inline_while: float = 0):
        """The executor's map (one job per task) with progress lines from `describe(result, job)`."""
        run = self.executor or LocalExecutor(self.jobs)
        step = (lambda result, job: progress(describe(result, job))) if progress else None
        yield from run.map(fn, jobs, step, inline_below=inline_below, inline_while=inline_while)


def _failed(knobs: dict, failure: Failed) -> Result:
    return Result(_config(knobs), knobs, "failed", failure.reason)

def write_results(results: list[Result], out: Path) -> None:
    """results.csv and results.json in `out` (each written atomically)."""
    write_rows([r.row() for r in results], out / "results.csv")
