"""Weights for an untrained model that make its checks mean something.

torch's default init shrinks activations layer by layer: Fast-SCNN's output comes
out near 1e-4, so "ORT matches PyTorch within 1e-4" would hold for any graph. Here
every conv/linear is rescaled, in one seeded forward pass, so that its output has
unit standard deviation (LSUV-style), and every batch norm gets random statistics
and affine parameters, so folding BN into the conv is exercised by verification.
The same spec and seed always give the same weights.
"""
from __future__ import annotations

import torch
from torch import nn

from archc.ir.graph import Graph
from archc.torch.carry import Carried, carry  # noqa: F401 (API)
from archc.torch.checkpoint import MappingReport, WeightsError, load_into, read_checkpoint  # noqa: F401 (API)
from archc.torch.lower import lower

SEED = 0


def lowered(graph: Graph, weights=None, mapping=None, seed: int = SEED):
    """lower_seeded(graph), then `weights` (a checkpoint path or state_dict) loaded into it through
    `mapping` (see checkpoint.py); the module, or WeightsError and no module at all.

        module = lowered(compile_spec("specs/mobilenetv2.yaml").graph, "mobilenet_v2.pth")
    """
    return lowered_report(graph, weights, mapping, seed)[0]


def lowered_report(graph: Graph, weights=None, mapping=None, seed: int = SEED) -> tuple:
    """(module, MappingReport) as `lowered` makes them; the report is None without weights."""
    module = lower_seeded(graph, seed)
    report = load_into(module, weights, mapping) if weights is not None else None
    return module, report


def lower_seeded(graph: Graph, seed: int = SEED):
    """lower(graph) with reproducible, well-scaled weights (torch's global RNG untouched)."""
    module = lower(graph, seed)  # lower() seeds the initial weights itself
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        randomize_bn(module)
        _unit_outputs(module, torch.randn(1, *graph.input_shape))
    return module


def lowered_carried(original: Graph, weights, new: Graph, mapping=None) -> tuple:
    """(module for `new`, MappingReport, Carried): `weights` fit `original` (the spec before its
    width / repeat / drop passes) and are carried to `new` (see carry.py).

        module, report, carried = lowered_carried(compile_spec(s).graph, "w.pt", compile_spec(s, ["width=0.5"]).graph)
    """
    source, report = lowered_report(original, weights, mapping)
    carried = carry(original, source.state_dict(), new)
    module = lower_seeded(new)
    load_into(module, carried.state)  # by name: every tensor, or an error
    return module, report, carried


def randomize_bn(module: nn.Module) -> None:
    """Random BN affine parameters and statistics (from torch's global RNG), so that a swapped or
    missing BN shows in an output comparison."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)


def _unit_outputs(module: nn.Module, x: torch.Tensor) -> None:
    """Scale each conv/linear (weight and bias) by 1/std of its output, in execution order:
    a hook rescales the output it returns too, so one pass normalizes every layer."""
    done: set = set()

    def hook(m, args, out):
        if id(m) in done:  # shared weights (Fast-SCNN's PPM conv): scale once, at first use
            return None
        done.add(id(m))
        std = float(out.std()) if out.numel() > 1 else 0.0
        if std < 1e-12 or std != std:
            return None
        m.weight.div_(std)
        if m.bias is not None:
            m.bias.div_(std)
        return out / std

    layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        with torch.no_grad():
            module(x)
    finally:
        for h in handles:
            h.remove()
