"""Copy weights between two models of the same network written independently, matching
their layers by the order they run in and by shape (no names: the two name differently).

    randomize(compiled, seed=0); copy_by_order(compiled, handwritten, torch.zeros(1, 3, 64, 64))

A stand-in for the `--weights` loader (archc/torch/weights.py) until that lands.
"""
from __future__ import annotations

import torch
from torch import nn


def _leaves_in_call_order(model: nn.Module, x: torch.Tensor) -> list:
    """Modules with weights or buffers, in the order a forward pass first calls them."""
    order, hooks = [], []

    def seen(mod, inputs, output):  # returns None: a hook's value would replace the output
        if mod not in order:
            order.append(mod)

    for m in model.modules():
        if not list(m.children()) and list(m.state_dict()):
            hooks.append(m.register_forward_hook(seen))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return order


def _signature(m: nn.Module) -> tuple:
    return (type(m).__name__,) + tuple((k, tuple(v.shape)) for k, v in m.state_dict().items())


def copy_by_order(src: nn.Module, dst: nn.Module, x: torch.Tensor) -> int:
    """Load every layer of `src` into the first unused layer of `dst`, in call order, with the
    same type and tensor shapes; fail if any layer of either side is left over. Returns the count."""
    left = _leaves_in_call_order(dst, x)
    pairs = []
    for m in _leaves_in_call_order(src, x):
        match = next((d for d in left if _signature(d) == _signature(m)), None)
        assert match is not None, f"no layer of the reference fits {_signature(m)}"
        left.remove(match)
        pairs.append((m, match))
    assert not left, f"reference layers without a counterpart: {[_signature(m) for m in left]}"
    for m, d in pairs:
        d.load_state_dict(m.state_dict())
    return len(pairs)


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BN statistics of a moderate scale, so no layer is an identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith(("running_mean", "bias")):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif t.dim() == 1:  # BN scale
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:  # conv/linear weight, scaled by fan-in
                t.copy_(torch.randn(t.shape, generator=g) / max(1, t[0].numel()) ** 0.5)
    return model
