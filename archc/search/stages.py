"""A batch of trials through the stages, cheapest first: analysis (params, MACs), then ONNX Runtime
latency on this machine, then training; a trial stops at its first broken constraint, so an
infeasible candidate is never timed or trained (Archai's segmentation search orders its objectives
the same way). Analysis and latency go through the sweep's machinery and its content-keyed cache.

    Evaluator(Sweep("specs/fastscnn.yaml", {}), [parse_constraint("params<=1e5")], {"analysis"}).run(knobs)
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from archc.search.space import STAGES, judge, stage_of
from archc.sweep.executors import Failed, LocalExecutor
from archc.sweep.sweep import Cache, Result, Sweep, _config, _key, _pipeline, code_digest, passes_of

PROFILE = {"runs": 30, "warmup": 5, "threads": 1}  # the sweep's own settings: its cache serves both
RUNTIMES = ("ort", "torch")  # ONNX Runtime on the exported model, or PyTorch eager (no export)


@dataclass
class Evaluator:
    sweep: Sweep  # the spec, its variables and the executor
    constraints: list  # Constraint, any stage
    needs: set  # stages an objective needs beyond the constraints': "latency", "train"
    cache: Path | None = None
    profile: dict = field(default_factory=lambda: dict(PROFILE))
    train: dict | None = None  # {"epochs": E, "data": DIR, "seed": S}
    model_name: str = ""  # --latency-model as given (the sweep holds the model itself)

    def stages(self) -> list[str]:
        wanted = self.needs | {stage_of(c.column) for c in self.constraints}
        return [s for s in STAGES if s == "analysis" or s in wanted]

    def run(self, batch: list[dict]) -> list[dict]:
        """Knobs of each trial -> its row: the sweep's columns, miou, and `broken` (what stopped it)."""
        rows = [r.row() | {"miou": None, "broken": ""} for r in self.sweep.evaluate(batch, self.cache)]
        for stage in self.stages():
            live = [i for i, row in enumerate(rows) if row["status"] == "ok" and not row["broken"]]
            if stage != "analysis" and live:
                measured = getattr(self, f"_{stage}")([batch[i] for i in live], [rows[i] for i in live])
                for i, values in zip(live, measured):
                    rows[i].update(values)
            for i in live:
                rows[i]["broken"] = self._broken(rows[i], stage)
        for row in rows:
            row["status"] = "infeasible" if row["status"] == "ok" and row["broken"] else row["status"]
        return rows

    def _broken(self, row: dict, stage: str) -> str:
        if row["status"] != "ok":
            return ""
        for c, violation in judge(self.constraints, row, stage):
            if violation is not None and violation > 0:
                return f"{c.column}={row[c.column]:g} breaks {c}"
        return ""

    def source(self) -> str:
        """Which latency judges a trial: 'predicted: MODEL', 'measured: HOST' or 'measured: local (RUNTIME)'."""
        if self.sweep.latency_model is not None:
            return f"predicted: {self.model_name}"
        if self.sweep.target is not None:
            return f"measured: {self.sweep.target.host}"
        return f"measured: local ({self.profile.get('runtime', 'ort')})"

    def latency_key(self) -> dict:
        """What a resumed study must share with the one it continues, beyond its space and budgets: where
        latency comes from (a refitted model or another device is another search). Empty for this
        machine's ONNX Runtime, so that studies made before --host and --latency-model still resume."""
        if self.source() == "measured: local (ort)":
            return {}
        model = self.sweep.latency_model
        digest = hashlib.sha256(json.dumps(model, sort_keys=True).encode()).hexdigest()[:16] if model else None
        return {"latency": self.source(), "model": digest}

    def _latency(self, batch: list[dict], rows: list[dict]) -> list[dict]:
        """With a latency model, its prediction (no export: the analysis made it). Else timed here, one
        model at a time (interleaved runs), or on --host's device one after the other; for ONNX Runtime
        exported first in the executor's workers, for PyTorch eager only lowered."""
        if self.sweep.latency_model is not None:
            return [{"median_ms": r["predicted_ms"], "fps": round(1000 / r["predicted_ms"], 3) if r["predicted_ms"]
                     else None, "latency": self.source()} for r in rows]
        if self.profile.get("runtime", "ort") == "torch":
            return [dict(r, latency=self.source()) for r in eager_latency(self.sweep, batch, self.cache, self.profile)]
        settings = {k: v for k, v in self.profile.items() if k != "runtime"}  # the sweep's cache key
        results = self.sweep.evaluate(batch, self.cache, settings)
        return [{"median_ms": r.median_ms, "fps": r.fps, "status": r.status, "reason": r.reason,
                 "latency": self.source()} for r in results]

    def _train(self, batch: list[dict], rows: list[dict] = ()) -> list[dict]:
        """Each candidate's val mIoU: from CACHE/train_cache/ under the sweep's key (archc.train.proxy.result_key,
        one thread per trial), else trained in the executor's workers and stored."""
        from archc.sweep.sweep_train import model_keys
        from archc.train.datasets import content_key
        from archc.train.loop import Config
        from archc.train.proxy import cached, result_key, store

        config = Config(self.train["epochs"], seed=self.train.get("seed", 0), threads=1)
        folder = Path(self.cache) / "train_cache" if self.cache else None
        data_key = content_key(self.train["data"])
        keys = [result_key(m, data_key, config) for m in model_keys(self.sweep, batch)]
        found = {k: cached(folder, k) for k in keys}
        todo = {k: k_ for k, k_ in zip(keys, batch) if found[k] is None}
        jobs = [(self.sweep.spec, _pipeline(k, self.sweep.input), self.sweep.variables, self.train["data"], config)
                for k in todo.values()]
        for key, result in zip(todo, (self.sweep.executor or LocalExecutor(self.sweep.jobs)).map(train_job, jobs)):
            found[key] = {"failed": result.reason} if isinstance(result, Failed) else result
            if not isinstance(result, Failed):
                store(folder, key, result)
        return [{"status": "failed", "reason": f"train: {found[k]['failed']}"} if "failed" in found[k]
                else {"miou": float(found[k]["miou"])} for k in keys]


def train_job(job) -> dict:
    """One candidate trained for a few epochs on the data (in a worker): its scores (miou and the rest)."""
    from archc.compile import compile_spec
    from archc.errors import ArchcError

    spec, passes, variables, data, config = job
    try:
        from archc.train.proxy import train_and_eval
    except ImportError:
        raise ArchcError("--train needs archc.train (the training stage) in this installation") from None
    compiled = compile_spec(spec, passes, None, variables)
    return train_and_eval(compiled, data, config)


def eager_latency(sweep: Sweep, batch: list[dict], cache_dir: Path | None, profile: dict) -> list[dict]:
    """PyTorch eager latency of each configuration, through the sweep's cache (keyed with the runtime)."""
    from archc.compile import compile_spec
    from archc.lang.spec import load
    from archc.measure.profile import measure, torch_runner
    from archc.torch.weights import lower_seeded

    cache, spec, code = Cache(cache_dir), load(sweep.spec, sweep.variables), code_digest()
    keys = [_key(code, spec, sweep.variables, sweep.input, passes_of(k), profile) for k in batch]
    found = {key: Result(**hit) for key, k in zip(keys, batch) if (hit := cache.get(key, k, _config(k))) is not None}
    runners = {}
    for key, knobs in zip(keys, batch):
        if key not in found and key not in runners:
            graph = compile_spec(sweep.spec, passes_of(knobs), sweep.input, sweep.variables,
                                 workspace=sweep.workspace()).graph
            runners[key] = torch_runner(lower_seeded(graph).eval(), graph.input_shape, profile["threads"])
    for key, t in (measure(runners, profile["warmup"], profile["runs"]) if runners else {}).items():
        knobs = batch[keys.index(key)]
        found[key] = Result(_config(knobs), knobs, median_ms=t["median_ms"], fps=t["fps"])
        cache.put(key, asdict(found[key]))
    return [{"median_ms": found[key].median_ms, "fps": found[key].fps} for key in keys]
