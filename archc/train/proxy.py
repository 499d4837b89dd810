"""Proxy training for sweeps and searches: a short run with a fixed seed ranks candidates better than any
zero-cost proxy (White et al., "A Deeper Look at Zero-Cost Proxies", ICLR 2022 blog track), so every
candidate gets a measured mIoU. Scores are cached by `result_key`: every input that changes a trained result.

    from archc.compile import compile_spec
    from archc.train.loop import Config
    from archc.train.proxy import train_and_eval
    train_and_eval(compile_spec("specs/fastscnn.yaml", ["width=0.25"], "3x128x128"), "data/synth", Config(1))
    # {"miou": 0.41, "pixel_accuracy": 0.83, "train_loss": 0.62, "seconds": 12.3, ...}
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import torch

from archc.errors import KEPT
from archc.fs import atomic_file
from archc.train.env import device
from archc.train.loop import Config, Run, train

KEY_VERSION = 2  # 2: the whole training Config and torch's version joined the key (issue 26)


def train_and_eval(compiled, data_dir, config: Config, out=None) -> dict:
    """Train `compiled` as `config` says on data_dir's train split; the val scores of the last epoch.
    `out`: a run folder to keep the checkpoint and metrics.json in (none by default); one holding a run
    an interrupted sweep left is resumed."""
    start = time.perf_counter()
    resume = out is not None and (Path(out) / "checkpoint.pt").is_file()  # a run a killed sweep left: finish it
    before = list(KEPT)
    try:
        state = train(compiled, data_dir, config, Run(out, resume))
    finally:
        KEPT[:] = before  # a sweep or search resumes its runs itself: train's "--resume" advice is not theirs
    last = state["epochs"][-1]
    return {"miou": last["miou"], "pixel_accuracy": last["pixel_accuracy"], "train_loss": last["train_loss"],
            "per_class_iou": last["per_class_iou"], "epochs": config.epochs,
            "seconds": round(time.perf_counter() - start, 3)}


def result_key(model: str, data_key: dict, config: Config) -> str:
    """What a trained score depends on, hashed: `model` (the caller's key of the spec's files, variables, input,
    passes and archc's own code), the dataset's content key (archc.train.datasets.content_key: file list, sizes,
    mtimes; not its path), every field of `config` (epochs, batch, lr, optimiser, schedule, weight decay,
    augmentation on/off, scale, crop, jitter, loss/OHEM, class weights, layout, seed, threads) with the device
    it resolves to and AMP where it acts (CUDA only), and torch's version."""
    where = device(config.device)
    settings = asdict(config) | {"device": where.type, "amp": config.amp and where.type == "cuda"}
    blob = json.dumps([KEY_VERSION, model, data_key["key"], settings, torch.__version__], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def cached(folder: Path | None, key: str) -> dict | None:
    """The scores stored under `key` in `folder`, or None (absent, damaged or not a score: trained again)."""
    path = folder / f"{key}.json" if folder is not None else None
    if path is None or not path.is_file():
        return None
    try:
        scores = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    miou = scores.get("miou") if isinstance(scores, dict) else None
    ok = isinstance(miou, (int, float)) and not isinstance(miou, bool) and math.isfinite(miou) and 0 <= miou <= 1
    return scores if ok else None


def store(folder: Path | None, key: str, scores: dict) -> None:
    """`scores` under `key` in `folder` (atomically: two runs may share it); nothing without a folder."""
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_file(folder / f"{key}.json") as tmp:
        tmp.write_text(json.dumps(scores))
