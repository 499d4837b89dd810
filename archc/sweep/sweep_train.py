"""The sweep's training stage: every valid configuration trained for a few epochs on a dataset and scored,
so results.csv gets a measured `miou` beside its cost columns (the IoT thesis's IoU-vs-speed frontier).

    archc sweep specs/fastscnn.yaml --grid width=1,0.5,0.25 --input 3x128x128 --train 2 --data data/synth --out sw

Configurations train in parallel worker processes, each with its own share of the cores as its thread
budget; results are cached under DIR/train_cache/ by spec, passes, epochs, seed, dataset path and content
(file list, sizes, mtimes), and each run folder (weights.pt, metrics.json) is kept as DIR/train_runs/<the same key>/.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from archc.fs import atomic_file
from archc.sweep import sweep as sweep_mod


def _job(job) -> dict:
    """One configuration trained and scored (in a worker process); its run folder kept if given."""
    from archc.compile import compile_spec
    from archc.train.proxy import train_and_eval

    (spec, input_, variables, knobs, data, epochs, seed, threads), run = job
    compiled = compile_spec(spec, sweep_mod._pipeline(knobs, input_), None, variables)
    return train_and_eval(compiled, data, epochs, seed=seed, threads=threads, out=run)


def _key(text: str, job, data_key: dict) -> str:
    """The cache key: spec text, passes, epochs, seed, the dataset's path and its content key (archc.train.datasets
    .content_key: file list, sizes, mtimes), so a changed dataset at the same path is trained again."""
    spec, input_, variables, knobs, data, epochs, seed, _ = job
    blob = json.dumps([text, input_, variables, sweep_mod.passes_of(knobs), str(Path(data).resolve()), epochs, seed,
                       data_key["key"]], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def train_results(sw, results: list, epochs: int, data, out=None, seed: int = 0, progress=None) -> None:
    """Set `miou` on every valid result of sweep `sw`, training what the cache does not hold."""
    from archc.lang.yamlio import read_text
    from archc.train.datasets import content_key, find_pairs

    find_pairs(data, "train"), find_pairs(data, "val")  # a bad --data fails before any worker starts
    ok = [r for r in results if r.status == "ok"]
    workers = max(1, min(sw.jobs or os.cpu_count() or 1, len(ok)))
    threads = max(1, (os.cpu_count() or 1) // workers)
    jobs = [(sw.spec, sw.input, sw.variables, r.knobs, str(data), epochs, seed, threads) for r in ok]
    text, cache = read_text(sw.spec), Path(out) / "train_cache" if out else None
    data_key = content_key(data)
    keys = [_key(text, job, data_key) for job in jobs]
    found = {k: _cached(cache, k) for k in keys}
    todo = [(k, job) for k, job in zip(keys, jobs) if found[k] is None]
    runs = Path(out) / "train_runs" if out else None  # each configuration's weights.pt and metrics.json
    work = [(job, None if runs is None else str(runs / k)) for k, job in todo]
    if runs is not None:
        runs.mkdir(parents=True, exist_ok=True)
    for (k, _), scores in zip(todo, _map(work, workers, sw, progress)):
        found[k] = scores
        _store(cache, k, scores)
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


def _cached(cache: Path | None, key: str):
    if cache is None or not (cache / f"{key}.json").is_file():
        return None
    try:
        return json.loads((cache / f"{key}.json").read_text())
    except ValueError:
        return None  # a damaged entry is trained again


def _store(cache: Path | None, key: str, scores: dict) -> None:
    if cache is None:
        return
    cache.mkdir(parents=True, exist_ok=True)
    with atomic_file(cache / f"{key}.json") as tmp:
        tmp.write_text(json.dumps(scores))


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
