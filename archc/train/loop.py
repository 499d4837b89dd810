"""Training a compiled spec on a segmentation set: cross-entropy (BCE for one class), SGD or AdamW with a
poly or cosine schedule stepped per batch, val mIoU after every epoch and an atomic checkpoint after it.

Deterministic for a seed: torch's deterministic algorithms, a fixed thread count, the shuffle, the crops and
dropout drawn from (seed, epoch), so a run resumed from its last epoch's checkpoint repeats the batches an
uninterrupted run would have seen and ends with the same metrics.json.

    archc train specs/fastscnn.yaml --pass width=0.25 --input 3x128x128 --data data/synth --epochs 2 --out run

At real sizes (archc.train.augment): each image at a random scale, cropped to --crop (default the spec's
input), flipped; val scored at full resolution (archc.train.evaluate). On CUDA with mixed precision.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from archc.errors import KEPT, ArchcError
from archc.torch.lower import lower
from archc.train import checkpoint, evaluate, losses
from archc.train.augment import Augment
from archc.train.env import deterministic, device, out_classes
from archc.train.infer import mode_of
from archc.train.datasets import Reading, Segmentation, content_key
from archc.train.folder import RUN_FILES, run_folder

OPTIMIZERS = {"adamw": (torch.optim.AdamW, 1e-3), "sgd": (torch.optim.SGD, 0.01)}  # name -> (class, default lr)
SCHEDULES = {"poly": lambda t: (1 - t) ** 0.9, "cosine": lambda t: 0.5 * (1 + math.cos(math.pi * t))}


@dataclass(frozen=True)
class Config:
    """Everything that decides the result; a resumed run must have the same."""

    epochs: int
    batch: int = 8
    lr: Optional[float] = None  # None: the optimiser's default (AdamW 1e-3, SGD 0.01)
    optimizer: str = "adamw"
    schedule: str = "cosine"
    weight_decay: float = 1e-4
    augment: bool = True
    seed: int = 0
    threads: int = 1
    gradual_groups: Optional[int] = None  # set by archc.train.gradual
    crop: Optional[tuple] = None  # (H, W) of the training crops; None: the spec's input
    scale: Optional[tuple] = None  # random scale range of the full image, e.g. (0.5, 2.0); None: no scaling
    jitter: float = 0.0  # photometric jitter (brightness, contrast, saturation)
    loss: str = "ce"  # ce, or ohem (the hardest pixels)
    class_weights: bool = False  # ENet's 1 / ln(1.02 + class frequency), from the train masks
    format: Optional[str] = None  # the dataset layout (archc.train.layouts); None: detected
    device: str = "auto"  # auto (CUDA when torch sees a GPU), cuda or cpu
    amp: bool = True  # mixed precision (float16 autocast, loss scaling) on CUDA; ignored on the CPU
    qat: bool = False  # fake quantization as the int8 export quantizes (archc.train.qat)
    quantize: Optional[str] = None  # with qat: the quantize pass (its --pass text) whose int8 grid QAT follows

    def __post_init__(self):
        for name, value, choices in (("--optimizer", self.optimizer, OPTIMIZERS),
                                     ("--schedule", self.schedule, SCHEDULES), ("--loss", self.loss, losses.LOSSES),
                                     ("--device", self.device, ("auto", "cuda", "cpu"))):
            if value not in choices:
                raise ArchcError(f"{name} {value}: choose one of {', '.join(choices)}")
        if self.epochs < 1 or self.batch < 1 or self.threads < 1:
            raise ArchcError("--epochs, --batch and --threads must be >= 1")
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if self.threads > cores:
            raise ArchcError(f"--threads {self.threads}: this machine has {cores} cores; give at most {cores}")
        if self.lr is not None and not self.lr > 0:
            raise ArchcError(f"--lr {self.lr}: give a positive learning rate, e.g. 1e-3")
        if self.scale is not None and (len(self.scale) != 2 or not 0 < self.scale[0] <= self.scale[1]):
            raise ArchcError(f"--scale {self.scale}: give LOW-HIGH with 0 < LOW <= HIGH, e.g. 0.5-2.0, or none")
        if self.crop is not None and (len(self.crop) != 2 or min(self.crop) < 1):
            raise ArchcError(f"--crop {self.crop}: give HxW, e.g. 512x1024")


@dataclass(frozen=True)
class Run:
    """Where a training run writes and whom it tells; none of it decides the result."""

    folder: object = None  # RUN: checkpoint.pt, weights.pt and metrics after every epoch; None: nothing written
    resume: bool = False  # go on from RUN's last finished epoch
    progress: Optional[Callable] = None  # progress(epoch, step, steps, mean loss, images/s) after each step
    hook: Optional[Callable] = None  # hook(epoch, step, steps) before each step (gradual grouping sets alpha)
    tensorboard: bool = False  # RUN/tensorboard event files too
    after: Optional[Callable] = None  # after(state) once the last epoch is saved, still under RUN's lock


@dataclass(frozen=True)
class Tools:
    """What each optimiser step uses: the optimiser, its schedule, the device, the loss (None: the config's)
    and the gradient scaler (None or disabled: full precision)."""

    opt: object
    sched: object
    dev: object
    criterion: Optional[Callable] = None
    scaler: object = None


def datasets(compiled, data_dir, config: Config) -> tuple:
    """The train split (augmented crops of config.crop, else the spec's input) and the val split at full size."""
    out = compiled.graph.shape(compiled.graph.outputs[0])
    if len(out) != 3:
        raise ArchcError(f"{compiled.spec.name}: its output is {list(out)}, not a per-pixel map (classes, H, W); "
                         f"archc trains segmentation models: give a spec with a segmentation head")
    shape, classes = compiled.graph.input_shape, out_classes(compiled)
    crop = (shape[0], *config.crop) if config.crop else shape
    norm = compiled.spec.normalization()
    aug = Augment(config.scale, True, config.jitter) if config.augment else None
    return (Segmentation(data_dir, "train", classes, crop, norm, Reading(aug, config.seed, config.format)),
            Segmentation(data_dir, "val", classes, shape, norm, Reading(fmt=config.format, full=True)))


def make_optimizer(module, config: Config, steps: int):
    cls, default_lr = OPTIMIZERS[config.optimizer]
    kwargs = {"momentum": 0.9} if config.optimizer == "sgd" else {}
    opt = cls(module.parameters(), lr=config.lr or default_lr, weight_decay=config.weight_decay, **kwargs)
    rule = SCHEDULES[config.schedule]
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda step: rule(min(step / max(steps, 1), 1.0)))


def batches(data: Segmentation, batch: int, seed: int, epoch: int):
    """Shuffled batches of one epoch, a pure function of (seed, epoch); with --batch 2 or more a last batch
    of one is dropped (batch norm's statistics of one image are noise); --batch 1 trains on every image."""
    data.epoch = epoch
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed * 100_003 + epoch)).tolist()
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        if len(idx) == 1 and batch > 1:
            return
        items = [data[i] for i in idx]
        yield torch.stack([x for x, _ in items]), torch.stack([m for _, m in items])


def train_epoch(module, data, config, epoch, tools: Tools, run: Run = Run()) -> float:
    """One epoch; returns the mean training loss (`run`: its progress and hook; nothing is written here)."""
    (opt, sched, dev), progress, hook = (tools.opt, tools.sched, tools.dev), run.progress, run.hook
    module.train()
    criterion = tools.criterion or losses.criterion(config)
    torch.manual_seed(config.seed * 100_003 + epoch)  # dropout's draws depend on the epoch only
    total, count, steps = 0.0, 0, math.ceil(len(data) / config.batch)
    start = time.perf_counter()
    for step, (x, m) in enumerate(batches(data, config.batch, config.seed, epoch)):
        if hook is not None:
            hook(epoch, step, steps)
        x, m = x.to(dev, non_blocking=True), m.to(dev, non_blocking=True)
        loss = _step(module, (x, m), opt, config, criterion, tools.scaler)
        if not math.isfinite(loss):
            raise Diverged(epoch, f"the training loss is {loss} at step {step + 1}")
        sched.step()
        total, count = total + loss * len(x), count + len(x)
        if progress is not None:
            progress(epoch, step + 1, steps, total / count, count / (time.perf_counter() - start))
    return total / max(count, 1)


class Diverged(ArchcError):
    """Training stopped: the loss or the weights stopped being finite numbers."""

    def __init__(self, epoch: int, what: str):
        kept = f"the run keeps its last good checkpoint (epoch {epoch})" if epoch else "no epoch finished"
        super().__init__(f"training diverged in epoch {epoch + 1}: {what}; stopped, {kept}; lower --lr "
                         f"(e.g. 1e-3) and start again")
        self.epoch = epoch


def _step(module, batch, opt, config, criterion, scaler) -> float:
    """One optimiser step (mixed precision when `scaler` is enabled); a non-finite loss takes no step."""
    (x, m), amp = batch, scaler is not None and scaler.is_enabled()
    try:
        with torch.autocast(x.device.type, torch.float16, enabled=amp):
            loss = criterion(_first(module(x)), m)
    except ValueError as exc:  # batch norm after a global pooling, given one image
        if "more than 1 value per channel" not in str(exc):
            raise
        raise ArchcError(f"--batch {config.batch}: this model's batch norm follows a global pooling and needs "
                         f"at least 2 images per step; use --batch 2 or more") from None
    opt.zero_grad(set_to_none=True)
    if amp:  # the scaler skips a step whose gradients are not finite
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    else:
        loss.backward()
        if math.isfinite(loss.item()):
            opt.step()
    return loss.item()


def _check_finite(module, epoch: int) -> None:
    bad = next((k for k, v in module.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()),
               None)
    if bad is not None:
        raise Diverged(epoch, f"'{bad}' holds non-finite values")


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def train(compiled, data_dir, config: Config, run: Run = Run(), module=None) -> dict:
    """Train `compiled` (or `module`, its lowered model) and return metrics.json's content.
    `run.folder`: a folder for checkpoint.pt, weights.pt, metrics.json and metrics.csv after every epoch;
    `run.hook(epoch, step, steps)` is called before each step (gradual grouping sets alpha through it).
    Starting weights are `module`'s (archc.train.run loads --weights into it)."""
    if run.tensorboard:
        checkpoint.board(run.folder, check_only=True)  # refused before anything is read or written
    with deterministic(config.threads):
        train_set, val_set = datasets(compiled, data_dir, config)
        module = module if module is not None else lower(compiled.graph, config.seed)
        dev = device(config.device)
        module.to(dev)
        steps = config.epochs * math.ceil(len(train_set) / config.batch)
        opt, sched = make_optimizer(module, config, steps)
        scaler = torch.amp.GradScaler(dev.type, enabled=config.amp and dev.type == "cuda")
        tools = Tools(opt, sched, dev, losses.criterion(config, train_set, dev), scaler)
        with run_folder(run.folder, RUN_FILES) if run.folder is not None else contextlib.nullcontext():
            state = _epochs(compiled, config, run, module, tools, (train_set, val_set, content_key(data_dir)))
            run.after and run.after(state)  # e.g. --qat's int8 export: no other process between the two
            return state


def _epochs(compiled, config, where: Run, module, tools: Tools, sets: tuple) -> dict:
    """The epochs still to train; `sets`: (train split, val split, the data's content key)."""
    (train_set, val_set, data), run, (opt, sched, dev) = sets, where.folder, (tools.opt, tools.sched, tools.dev)
    state = checkpoint.start(run, compiled, config, (module, opt, sched), where.resume, data)
    state["classes"] = train_set.names
    board = checkpoint.board(run) if where.tensorboard else None
    if run is not None and not state["epochs"]:
        KEPT[:] = [f"{run} holds no finished epoch: run the same command again"]
    for epoch in range(len(state["epochs"]), config.epochs):
        loss = train_epoch(module, train_set, config, epoch, tools, where)
        _check_finite(module, epoch)
        how = evaluate.Inference(mode=mode_of(compiled.graph), batch=config.batch)
        scores = evaluate.evaluate_module(module, val_set, how, dev)
        state["epochs"].append({"epoch": epoch + 1, "train_loss": round(loss, 6), "lr": sched.get_last_lr()[0],
                                **{k: scores[k] for k in ("miou", "pixel_accuracy", "per_class_iou")}})
        checkpoint.save(run, state, module, opt, sched, board)
        if run is not None:
            KEPT[:] = [f"{run} keeps epoch {epoch + 1} of {config.epochs}: continue with the same command and --resume"]
    return state
