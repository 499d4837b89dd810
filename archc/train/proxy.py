"""Proxy training for sweeps and searches: a short run with a fixed seed ranks candidates better than any
zero-cost proxy (White et al., "A Deeper Look at Zero-Cost Proxies", ICLR 2022 blog track), so every
candidate gets a measured mIoU.

    from archc.compile import compile_spec
    from archc.train.proxy import train_and_eval
    train_and_eval(compile_spec("specs/fastscnn.yaml", ["width=0.25"], "3x128x128"), "data/synth", epochs=1)
    # {"miou": 0.41, "pixel_accuracy": 0.83, "train_loss": 0.62, "seconds": 12.3, ...}
"""
from __future__ import annotations

import time
from pathlib import Path

from archc.errors import KEPT
from archc.train.loop import Config, train


def train_and_eval(compiled, data_dir, epochs, seed=0, batch=8, lr=None, threads=1, out=None) -> dict:
    """Train `compiled` for `epochs` on data_dir's train split; the val scores of the last epoch.
    `out`: a run folder to keep the checkpoint and metrics.json in (none by default); one holding a run
    an interrupted sweep left is resumed."""
    start = time.perf_counter()
    resume = out is not None and (Path(out) / "checkpoint.pt").is_file()  # a run a killed sweep left: finish it
    try:
        state = train(compiled, data_dir, Config(epochs, batch, lr, seed=seed, threads=threads), out, resume=resume)
    finally:
        KEPT.clear()  # a sweep or search resumes its runs itself: train's "--resume" advice is not theirs
    last = state["epochs"][-1]
    return {"miou": last["miou"], "pixel_accuracy": last["pixel_accuracy"], "train_loss": last["train_loss"],
            "per_class_iou": last["per_class_iou"], "epochs": epochs,
            "seconds": round(time.perf_counter() - start, 3)}
