"""The sweep's training stage: every valid configuration trained for a few epochs on a dataset and scored,
so results.csv gets a measured `miou` beside its cost columns (the IoT thesis's IoU-vs-speed frontier).

    archc sweep specs/fastscnn.yaml --grid width=1,0.5,0.25 --input 3x128x128 --train 2 --data data/synth --out sw

Configurations train in parallel worker processes, each with its own share of the cores as its thread
budget; results are cached under DIR/train_cache/ by archc.train.proxy.result_key (the spec's files, variables,
input, passes, archc's code, the dataset's content, every training setting, torch's version), and each run
folder (weights.pt, metrics.json) is kept as DIR/train_runs/<the same key>/.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from archc.sweep import sweep as sweep_mod


def _job(job) -> dict:
    """One configuration trained and scored (in a worker process); its run folder kept if given."""
    from archc.compile import compile_spec
    from archc.train.proxy import train_and_eval

    (spec, input_, variables, knobs, data, config), run = job
    compiled = compile_spec(spec, sweep_mod._pipeline(knobs, input_), None, variables)
    return train_and_eval(compiled, data, config, out=run)


def model_keys(sw, knobs: list) -> list[str]:
    """Each configuration's model identity: the sweep's own key (the spec and every file it imports by content,
    variables, input, passes, archc's code), without profile settings."""
    from archc.lang.spec import load

    spec, code = load(sw.spec, sw.variables), sweep_mod.code_digest()
    return [sweep_mod._key(code, spec, sw.variables, sw.input, sweep_mod.passes_of(k), None) for k in knobs]


def train_results(sw, results: list, data, config, out=None, progress=None) -> None:
    """Set `miou` on every valid result of sweep `sw`, trained as `config` (archc.train.loop.Config; its threads
    are set here: the cores shared among the workers) where the cache does not hold the score."""
    from archc.train.datasets import check_splits, content_key
    from archc.train.proxy import cached, result_key, store

    check_splits(data)  # a bad --data fails before any worker starts
    ok = [r for r in results if r.status == "ok"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = max(1, min(sw.jobs or cores, len(ok)))
    config = replace(config, threads=max(1, cores // workers))
    jobs = [(sw.spec, sw.input, sw.variables, r.knobs, str(data), config) for r in ok]
    cache, data_key = Path(out) / "train_cache" if out else None, content_key(data)
    keys = [result_key(m, data_key, config) for m in model_keys(sw, [r.knobs for r in ok])]
    found = {k: cached(cache, k) for k in keys}
    todo = [(k, job) for k, job in zip(keys, jobs) if found[k] is None]
    runs = Path(out) / "train_runs" if out else None  # each configuration's weights.pt and metrics.json
    work = [(job, None if runs is None else str(runs / k)) for k, job in todo]
    if runs is not None:
        runs.mkdir(parents=True, exist_ok=True)
    for (k, _), scores in zip(todo, _map(work, workers, sw, progress)):
        found[k] = scores
        store(cache, k, scores)
    for r, k in zip(ok, keys):
        r.miou = found[k]["miou"]
        r.run = k


def _map(jobs: list, workers: int, sw, progress):
    if workers == 1 or len(jobs) == 1:
        for job in jobs:
            yield _job(job)
            progress and progress()
        return
    yield from sw._pool_map(_job, jobs, progress, describe=_told)


def _told(scores, job) -> str:
    """The progress line's text for a configuration trained in a worker (as soon as it is done)."""
    config = sweep_mod._config(job[0][3])
    return f"{config}: mIoU {scores['miou']:.4f}" if isinstance(scores, dict) else f"{config}: failed"


def predict_sheet(sw, results: list, data, out, images: int) -> dict:
    """sweep --predict N: the first N val images of `data` through every trained configuration, side by side,
    in OUT/predict/ (sheet.png, masks/, overlays/), each labelled with its passes and val mIoU."""
    from archc.compile import compile_spec
    from archc.train import predict as pr

    trained = [r for r in results if r.status == "ok" and r.run]
    models = [pr.from_compiled(r.config or "as written", compile_spec(sw.spec, sweep_mod._pipeline(r.knobs, sw.input),
                                                                      None, sw.variables),
                               Path(out) / "train_runs" / r.run / "weights.pt", r.miou) for r in trained]
    found, names, palette = pr.sources([data], models[0].classes, "val", None, images)
    return pr.predict(models, found, names, palette, Path(out) / "predict")
