"""`archc train` as one function: the model to start from (fresh, --weights, or carried from a wider parent
with --from-parent), the training loop, and gradual grouping when asked.

    state = train_spec(compile_spec("specs/fastscnn.yaml", ["width=0.25"], "3x128x128"), "data/synth",
                       Config(epochs=2), Run("run"))
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from archc.errors import ArchcError
from archc.torch.carry import carry
from archc.torch.lower import lower
from archc.train import gradual
from archc.train.checkpoint import load_own
from archc.train.loop import Config, Run, train


@dataclass(frozen=True)
class Start:
    """What a run starts from: a --weights file, or `parent`, (the parent's Compiled, its checkpoint), for
    --from-parent; `gradual_groups` G trains with ESSNet's gradual grouping (archc.train.gradual)."""

    weights: object = None
    parent: Optional[tuple] = None
    gradual_groups: Optional[int] = None


def train_spec(compiled, data, config: Config, run: Run = Run(), start: Start = Start(), notes=None) -> dict:
    """Train `compiled` on `data` from `start`, writing and telling as `run` says. `notes(lines)` hears what a
    --weights file gave (a training checkpoint's model weights); nothing is printed here."""
    weights, parent, gradual_groups = start.weights, start.parent, start.gradual_groups
    resume, out = run.resume, run.folder
    if weights is not None and parent is not None:
        raise ArchcError("--weights and --from-parent both give the starting weights; give one")
    module = lower(compiled.graph, config.seed)
    if config.qat:
        _check_qat(weights, resume, gradual_groups, compiled.quantize)
        from archc.train import qat

        qat.prepare(module, compiled.graph.input_shape, qat.Grid.of(compiled.quantize))
        config = replace(config, quantize=compiled.quantize and compiled.quantize.describe())  # metrics.json says
    if parent is not None and not resume:
        module.load_state_dict(carried(compiled, *parent))
    if weights is not None:
        took = load_own(module, weights)
        notes and notes([f"--weights {weights}: took {took}"])
    if gradual_groups is not None:
        return gradual.train_grouped(compiled, module, data, config, gradual_groups, replace(run, hook=None))
    after = (lambda state: state.update(int8=str(_qat_export(compiled, data, out)))) \
        if config.qat and out is not None else None
    return train(compiled, data, config, replace(run, hook=None, after=after), module)


def _check_qat(weights, resume: bool, gradual_groups, qpass) -> None:
    if qpass is not None and qpass.mode != "int8":
        raise ArchcError(f"--qat --pass {qpass.describe()}: QAT imitates int8; give quantize=int8 (with its "
                         f"per_channel and reduce_range) or no quantize pass")
    if weights is None and not resume:
        raise ArchcError("--qat fine-tunes a trained model with fake quantization: give its checkpoint with "
                         "--weights CKPT (e.g. RUN/weights.pt from archc train)")
    if gradual_groups is not None:
        raise ArchcError("--qat and --gradual-groups: train the groups first, then fine-tune with --qat")


def _qat_export(compiled, data, out):
    """RUN/model.onnx and RUN/model.int8.onnx of the trained QAT weights, each written whole; called by the
    training loop under the run's lock, after the last epoch (it used to lock the folder again afterwards,
    leaving a moment in which another process could take it)."""
    import os
    import tempfile
    from pathlib import Path

    from archc.train.qat import export_int8

    with tempfile.TemporaryDirectory(dir=out, prefix=".qat-") as tmp:
        export_int8(compiled, Path(out) / "weights.pt", data, tmp)
        for name in ("model.onnx", "model.int8.onnx"):
            os.replace(Path(tmp) / name, Path(out) / name)
    return Path(out) / "model.int8.onnx"


def carried(compiled, parent, parent_ckpt) -> dict:
    """The child's state_dict carried from the parent's trained weights: the channels of largest L1 norm
    in each coupled group (archc.torch.carry)."""
    from archc.torch.checkpoint import WeightsError, read_checkpoint

    try:  # the one reader: a state_dict or a RUN/checkpoint.pt, tensors only
        parent_state = read_checkpoint(parent_ckpt)
    except WeightsError as exc:
        raise ArchcError(f"--from-parent {exc}") from None
    return carry(parent.graph, parent_state, compiled.graph).state
