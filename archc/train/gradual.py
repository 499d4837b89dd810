"""ESSNet's gradual grouping (Vallurupalli et al., "Efficient Semantic Segmentation using Gradual Grouping",
CVPR Workshops 2018): the 1x1 convs the `groups=G` pass would group stay dense, but their off-group weights
are scaled by alpha, which falls linearly from 1 to 0 over the first half of training; the second half
fine-tunes at alpha 0, where the dense conv computes exactly the grouped one. The run then also writes
RUN/grouped/spec.yaml (the spec with `groups=G`) and RUN/grouped/weights.pt (its block-diagonal weights),
checked to give the dense model's outputs.

    archc train specs/essnetb.yaml --gradual-groups 4 --data data/synth --epochs 6 --out run
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils import parametrize

from archc.compile import Compiled, apply_passes, parse_passes
from archc.errors import ArchcError
from archc.fs import atomic_file
from archc.ir.build import build
from archc.lang.emit import emit
from archc.torch.lower import lower
from archc.train import checkpoint
from archc.train.loop import Run, train

TOLERANCE = 1e-4  # dense at alpha 0 vs grouped: the same sums in another order


class OffGroupScale(nn.Module):
    """weight -> weight on the diagonal blocks, alpha * weight off them (a torch parametrization)."""

    def __init__(self, out_ch: int, in_ch: int, groups: int, alpha: torch.Tensor):
        super().__init__()
        rows = torch.arange(out_ch) // (out_ch // groups)
        cols = torch.arange(in_ch) // (in_ch // groups)
        self.register_buffer("on", (rows[:, None] == cols[None, :]).float()[:, :, None, None], persistent=False)
        self.alpha = alpha  # shared by every conv, set by the schedule

    def forward(self, w):
        return w * (self.on + (1 - self.on) * self.alpha)


def grouped(compiled, g: int) -> Compiled:
    """The spec with the `groups=G` pass, built."""
    spec = apply_passes(compiled.spec, parse_passes([f"groups={g}"]))
    return Compiled(spec, build(spec), compiled.post)


def targets(dense: Compiled, group: Compiled, g: int) -> list:
    """Module paths of the convs the pass groups."""
    return sorted({n.owner for n in group.graph if n.op == "conv" and n.attrs["groups"] == g
                   and dense.graph[n.name].attrs["groups"] == 1})


def train_grouped(compiled, module, data, config, g, run: Run = Run()) -> dict:
    """`module` holds the starting weights (loaded into the plain module, before the parametrization renames
    its weights); `run`: its folder, resume and progress as for loop.train, its hook called after alpha is set."""
    out, hook = None if run.folder is None else Path(run.folder), run.hook
    group = grouped(compiled, g)
    names = targets(compiled, group, g)
    alpha = torch.ones(())
    modules = dict(module.named_modules())
    for name in names:
        conv = modules[name]
        parametrize.register_parametrization(conv, "weight", OffGroupScale(conv.out_channels, conv.in_channels, g,
                                                                           alpha))
    config = replace(config, gradual_groups=g)

    def schedule(epoch, step, steps):  # alpha: 1 -> 0 over the first half of all steps, then 0
        alpha.fill_(max(0.0, 1.0 - (epoch * steps + step) / max(1, config.epochs * steps / 2)))
        if hook is not None:
            hook(epoch, step, steps)

    state = train(compiled, data, config, replace(run, folder=out, hook=schedule), module)
    for name in names:
        parametrize.remove_parametrizations(modules[name], "weight", leave_parametrized=True)
    state["gradual"] = finish(compiled, group, module, names, g, out)
    if out is not None:
        with atomic_file(out / checkpoint.METRICS) as tmp:
            tmp.write_text(json.dumps(checkpoint.metrics(state), indent=1) + "\n")
    return state


def block_diagonal(state: dict, names: list, g: int) -> dict:
    """The grouped convs' weights: each group's diagonal block of the dense weight."""
    out = dict(state)
    for name in names:
        w = state[f"{name}.weight"]
        o, i = w.shape[0] // g, w.shape[1] // g
        out[f"{name}.weight"] = torch.cat([w[k * o:(k + 1) * o, k * i:(k + 1) * i] for k in range(g)])
    return out


def finish(compiled, group, module, names, g, out) -> dict:
    """Grouped weights, checked against the dense model (eval mode) on a seeded input; written under out."""
    sd = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    grouped_module = lower(group.graph)
    grouped_module.load_state_dict(block_diagonal(sd, names, g))
    dense = lower(compiled.graph)
    dense.load_state_dict(sd)
    x = torch.randn(2, *compiled.graph.input_shape, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        diff = float((dense.eval()(x) - grouped_module.eval()(x)).abs().max())
    if diff > TOLERANCE:
        raise ArchcError(f"--gradual-groups {g}: the grouped model differs from the dense one by {diff:.3g}")
    if out is not None:
        (out / "grouped").mkdir(exist_ok=True)
        with atomic_file(out / "grouped" / "spec.yaml") as tmp:
            tmp.write_text(emit(group.spec, f"grouped by archc train --gradual-groups {g}"))
        with atomic_file(out / "grouped" / checkpoint.WEIGHTS) as tmp:
            torch.save(grouped_module.state_dict(), tmp)
        with atomic_file(out / checkpoint.WEIGHTS) as tmp:
            torch.save(sd, tmp)  # dense, at alpha 0, without the parametrization's keys
    return {"groups": g, "convs": len(names), "max_abs_diff": diff}
