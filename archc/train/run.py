"""`archc train` as one function: the model to start from (fresh, --weights, or carried from a wider parent
with --from-parent), the training loop, and gradual grouping when asked.

    state = train_spec(compile_spec("specs/fastscnn.yaml", ["width=0.25"], "3x128x128"), "data/synth",
                       Config(epochs=2), "run")
"""
from __future__ import annotations

from archc.errors import ArchcError
from archc.torch.carry import carry
from archc.torch.lower import lower
from archc.train import gradual
from archc.train.checkpoint import load_own
from archc.train.loop import Config, train


def train_spec(compiled, data, config: Config, out=None, weights=None, parent=None, gradual_groups=None,
               resume=False, progress=None, notes=None, tensorboard: bool = False) -> dict:
    """`parent`: (the parent's Compiled, its checkpoint) for --from-parent. `notes(lines)` hears what a
    --weights file gave (a training checkpoint's model weights); nothing is printed here."""
    if weights is not None and parent is not None:
        raise ArchcError("--weights and --from-parent both give the starting weights; give one")
    module = lower(compiled.graph, config.seed)
    if config.qat:
        _check_qat(weights, resume, gradual_groups)
        from archc.train import qat

        qat.prepare(module, compiled.graph.input_shape)
    if parent is not None and not resume:
        module.load_state_dict(carried(compiled, *parent))
    if weights is not None:
        took = load_own(module, weights)
        notes and notes([f"--weights {weights}: took {took}"])
    if gradual_groups is not None:
        return gradual.train_grouped(compiled, module, data, config, gradual_groups, out, resume, progress, None)
    state = train(compiled, data, config, out, resume, progress, None, module, tensorboard)
    if config.qat and out is not None:
        state["int8"] = str(_qat_export(compiled, data, out))
    return state


def _check_qat(weights, resume: bool, gradual_groups) -> None:
    if weights is None and not resume:
        raise ArchcError("--qat fine-tunes a trained model with fake quantization: give its checkpoint with "
                         "--weights CKPT (e.g. RUN/weights.pt from archc train)")
    if gradual_groups is not None:
        raise ArchcError("--qat and --gradual-groups: train the groups first, then fine-tune with --qat")


def _qat_export(compiled, data, out):
    """RUN/model.onnx and RUN/model.int8.onnx of the trained QAT weights, written whole under the run's lock."""
    import os
    import tempfile
    from pathlib import Path

    from archc.train.folder import RUN_FILES, run_folder
    from archc.train.qat import export_int8

    with run_folder(out, RUN_FILES):
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
