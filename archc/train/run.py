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
    if parent is not None and not resume:
        module.load_state_dict(carried(compiled, *parent))
    if weights is not None:
        took = load_own(module, weights)
        notes and notes([f"--weights {weights}: took {took}"])
    if gradual_groups is not None:
        return gradual.train_grouped(compiled, module, data, config, gradual_groups, out, resume, progress, None)
    return train(compiled, data, config, out, resume, progress, None, module, tensorboard)


def carried(compiled, parent, parent_ckpt) -> dict:
    """The child's state_dict carried from the parent's trained weights: the channels of largest L1 norm
    in each coupled group (archc.torch.carry)."""
    from archc.torch.checkpoint import WeightsError, read_checkpoint

    try:  # the one reader: a state_dict or a RUN/checkpoint.pt, tensors only
        parent_state = read_checkpoint(parent_ckpt)
    except WeightsError as exc:
        raise ArchcError(f"--from-parent {exc}") from None
    return carry(parent.graph, parent_state, compiled.graph).state
