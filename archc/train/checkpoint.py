"""A training run's folder: RUN/checkpoint.pt (model, optimiser, schedule, epochs so far), RUN/weights.pt
(the model's state_dict, keyed by spec path, as `build --out` writes it), RUN/metrics.json and metrics.csv,
each replaced atomically after every epoch, so a run killed at any moment resumes from its last finished
epoch; RUN/spec.yaml (the transformed spec, written once) makes the folder a model `archc predict` reads.

    archc train SPEC --data D --epochs 5 --out run            # interrupted in epoch 3 ...
    archc train SPEC --data D --epochs 5 --out run --resume   # ... goes on from epoch 3
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict
from pathlib import Path

import torch

from archc.errors import ArchcError
from archc.fs import atomic_file
from archc.lang.emit import emit

CHECKPOINT, WEIGHTS, METRICS, CSV, SPEC = "checkpoint.pt", "weights.pt", "metrics.json", "metrics.csv", "spec.yaml"


def fingerprint(compiled) -> str:
    """What the model is: the transformed spec's text (a resumed run must train the same one)."""
    return hashlib.sha256(emit(compiled.spec).encode()).hexdigest()[:16]


def _config(config) -> dict:
    """The config as a run records it; qat and quantize only when set (runs recorded before they existed
    resume)."""
    return {k: v for k, v in asdict(config).items() if k not in ("qat", "quantize") or v}


def start(run, compiled, config, model: tuple, resume: bool, data: dict | None = None) -> dict:
    """metrics.json's content so far: empty for a new run, the finished epochs for a resumed one (whose
    `model`, (module, optimiser, schedule), is restored in place). `data`: the dataset's content key (a resumed
    run must see the same files). A new run also writes RUN/spec.yaml, the model it trains (`archc build RUN`)."""
    state = {"spec": compiled.spec.name, "model": fingerprint(compiled), "input": list(compiled.graph.input_shape),
             "config": _config(config), "data": data, "epochs": []}
    if run is None:
        return state
    run = Path(run)
    if not resume:
        if (run / CHECKPOINT).exists():
            raise ArchcError(f"--out {run}: holds a training run already; pass --resume to continue it "
                             f"or choose another --out")
        run.mkdir(parents=True, exist_ok=True)
        with atomic_file(run / SPEC) as tmp:  # the run names its model: `archc build RUN`, `archc predict --models RUN`
            tmp.write_text(emit(compiled.spec, f"archc train: the model of this run ({compiled.spec.name})"))
        return state
    saved = _load(run / CHECKPOINT)
    for key, fix in (("model", "the same spec and passes"), ("config", "the same options"), ("data",
                                                                                             "the same --data")):
        if saved["state"].get(key) is not None and saved["state"][key] != state.get(key):
            raise ArchcError(f"--resume {run}: the run was started with another {key} "
                             f"({_differs(saved['state'][key], state[key])}); give {fix}")
    module, opt, sched = model
    module.load_state_dict(saved["module"])
    opt.load_state_dict(saved["optimizer"])
    sched.load_state_dict(saved["schedule"])
    return saved["state"]


def _differs(a, b) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return ", ".join(f"{k}: {a.get(k)} then, {b.get(k)} now" for k in keys)
    return f"{a} then, {b} now"


def _load(path: Path) -> dict:
    from archc.torch.checkpoint import WeightsError, load_file

    if not path.is_file():
        raise ArchcError(f"--resume: {path} does not exist; start the run without --resume")
    try:
        saved = load_file(path)  # the one reader's load: weights_only, a refusal in one line
    except WeightsError as exc:
        raise ArchcError(f"--resume: {exc}") from None
    parts = ("module", "optimizer", "schedule", "state")
    if not (isinstance(saved, dict) and all(isinstance(saved.get(k), dict) for k in parts)
            and all(k in saved["state"] for k in ("model", "config", "epochs"))):
        raise ArchcError(f"--resume: {path} is not a checkpoint archc train wrote (it needs {', '.join(parts)}); "
                         f"start a new run with --weights {path} and another --out")
    return saved


def save(run, state: dict, module, opt, sched, board=None) -> None:
    """Replace the run's files, each atomically; the checkpoint first (a resume starts from it), metrics.csv
    (one row per epoch) and metrics.json last (once it shows an epoch, everything of that epoch is on disk);
    `board`: a TensorBoard writer that gets the last epoch's scalars."""
    if run is None:
        return
    run = Path(run)
    weights = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    with atomic_file(run / CHECKPOINT) as tmp:
        _save({"module": weights, "optimizer": opt.state_dict(), "schedule": sched.state_dict(), "state": state},
              tmp, run / CHECKPOINT)
    with atomic_file(run / WEIGHTS) as tmp:
        _save(weights, tmp, run / WEIGHTS)
    with atomic_file(run / CSV) as tmp:
        tmp.write_text(metrics_csv(state))
    with atomic_file(run / METRICS) as tmp:
        tmp.write_text(json.dumps(finite(metrics(state)), indent=1, allow_nan=False) + "\n")
    if board is not None:
        last = state["epochs"][-1]
        for key in ("train_loss", "lr", "miou", "pixel_accuracy"):
            if last[key] is not None:
                board.add_scalar(key, last[key], last["epoch"])
        board.flush()


def metrics_csv(state: dict) -> str:
    """One row per epoch: epoch, train_loss, lr, miou, pixel_accuracy, then the IoU of each class by name."""
    import csv
    import io

    names = state.get("classes") or [f"class {k}" for k in range(len(state["epochs"][0]["per_class_iou"]))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", "train_loss", "lr", "miou", "pixel_accuracy", *(f"iou {n}" for n in names)])
    for e in state["epochs"]:
        writer.writerow([e["epoch"], e["train_loss"], e["lr"], e["miou"], e["pixel_accuracy"],
                         *("" if v is None else v for v in e["per_class_iou"])])
    return out.getvalue()


def board(run, check_only: bool = False):
    """A TensorBoard writer into RUN/tensorboard/, or a one-line refusal when the package is missing."""
    if run is None:
        raise ArchcError("--tensorboard needs --out RUN (the event files go to RUN/tensorboard/)")
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ArchcError("--tensorboard needs the tensorboard package; install it: "
                         "pip install 'archc[tensorboard]' (or pip install tensorboard)") from None
    return None if check_only else SummaryWriter(str(Path(run) / "tensorboard"))


def finite(value):
    """JSON's own values: a NaN or an infinity (a class never seen, a diverged loss) becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _save(obj, tmp, target) -> None:
    """torch.save, whose zip writer reports a full disk as a RuntimeError, not an OSError."""
    try:
        torch.save(obj, tmp)
    except RuntimeError as exc:
        raise ArchcError(f"{target}: cannot write: torch's writer failed ({str(exc).splitlines()[0][:120]}); is "
                         f"the disk full? free some space, then continue with --resume") from None


def metrics(state: dict) -> dict:
    """metrics.json: the run's identity, every epoch, and the last epoch's scores as `final`."""
    return {**state, "final": state["epochs"][-1] if state["epochs"] else None}


def load_own(module, path, flag: str = "--weights") -> str:
    """Load a checkpoint into `module` through the one reader every command uses (archc.torch.checkpoint:
    weights_only, tensors only, integer tensors refused): a state_dict, or the model weights of a
    RUN/checkpoint.pt. Returns what it took, for a note."""
    from archc.torch.checkpoint import WeightsError, load_into

    try:
        return load_into(module, path).took
    except WeightsError as exc:
        raise ArchcError(f"{flag} {exc}") from None
