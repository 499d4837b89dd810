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


def start(run, compiled, config, module, opt, sched, resume: bool) -> dict:
    """metrics.json's content so far: empty for a new run, the finished epochs for a resumed one (whose
    model, optimiser and schedule are restored in place)."""
    state = {"spec": compiled.spec.name, "model": fingerprint(compiled), "input": list(compiled.graph.input_shape),
             "config": asdict(config), "epochs": []}
    if run is None:
        return state
    run = Path(run)
    if run.exists() and not run.is_dir():
        raise ArchcError(f"--out {run}: exists and is not a directory; choose another path")
    if not resume:
        if (run / CHECKPOINT).exists():
            raise ArchcError(f"--out {run}: holds a training run already; pass --resume to continue it "
                             f"or choose another --out")
        run.mkdir(parents=True, exist_ok=True)
        with atomic_file(run / SPEC) as tmp:  # the run names its model: `archc predict --models RUN`
            tmp.write_text(emit(compiled.spec))
        return state
    saved = _load(run / CHECKPOINT)
    for key in ("model", "config"):
        if saved["state"][key] != state[key]:
            raise ArchcError(f"--resume {run}: the run was started with another {key} "
                             f"({_differs(saved['state'][key], state[key])}); give the same spec, passes and options")
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
    if not path.is_file():
        raise ArchcError(f"--resume: {path} does not exist; start the run without --resume")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: torch raises several types
        raise ArchcError(f"--resume: cannot read {path}: {str(exc).splitlines()[0]}") from None


def save(run, state: dict, module, opt, sched, board=None) -> None:
    """Replace the run's files, each atomically; the checkpoint first (a resume starts from it), metrics.csv
    (one row per epoch) and metrics.json last (once it shows an epoch, everything of that epoch is on disk);
    `board`: a TensorBoard writer that gets the last epoch's scalars."""
    if run is None:
        return
    run = Path(run)
    weights = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    with atomic_file(run / CHECKPOINT) as tmp:
        torch.save({"module": weights, "optimizer": opt.state_dict(), "schedule": sched.state_dict(),
                    "state": state}, tmp)
    with atomic_file(run / WEIGHTS) as tmp:
        torch.save(weights, tmp)
    with atomic_file(run / CSV) as tmp:
        tmp.write_text(metrics_csv(state))
    with atomic_file(run / METRICS) as tmp:
        tmp.write_text(json.dumps(metrics(state), indent=1) + "\n")
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


def metrics(state: dict) -> dict:
    """metrics.json: the run's identity, every epoch, and the last epoch's scores as `final`."""
    return {**state, "final": state["epochs"][-1] if state["epochs"] else None}


def load_own(module, path) -> None:
    """Load an archc checkpoint (a state_dict keyed by spec path, or a RUN/checkpoint.pt) with exact keys.
    The weights issue's archc.torch.weights.load_into replaces this for foreign checkpoints."""
    path = Path(path)
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ArchcError(f"--weights {path}: no such file") from None
    except Exception as exc:
        raise ArchcError(f"--weights {path}: cannot read it as a torch state_dict: "
                         f"{str(exc).splitlines()[0]}") from None
    sd = sd.get("module", sd) if isinstance(sd, dict) else sd
    if not isinstance(sd, dict):
        raise ArchcError(f"--weights {path}: holds a {type(sd).__name__}, not a state_dict")
    own = module.state_dict()
    missing, extra = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    if missing or extra:
        raise ArchcError(f"--weights {path}: keys do not match the model (missing {missing[:3]}, unexpected "
                         f"{extra[:3]}); was it saved from this spec with the same passes?")
    wrong = [k for k in own if tuple(own[k].shape) != tuple(sd[k].shape)]
    if wrong:
        raise ArchcError(f"--weights {path}: {wrong[0]} has shape {list(sd[wrong[0]].shape)}, the model needs "
                         f"{list(own[wrong[0]].shape)}; was it saved with other passes (width)?")
    module.load_state_dict(sd)
