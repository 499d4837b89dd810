"""Cross-checks of the IR against torch: forward shapes and torchinfo totals."""
from __future__ import annotations

import torch
import torchinfo
from torch.fx.passes.shape_prop import ShapeProp

from archc.ir.analysis import analyze
from archc.ir.graph import Graph
from archc.torch.lower import lower


def torch_shapes(graph: Graph, module=None) -> dict:
    """IR node name -> the shape torch computes for it (batch dimension dropped)."""
    gm = module if module is not None else lower(graph)
    with torch.no_grad():
        ShapeProp(gm).propagate(torch.zeros(1, *graph.input_shape))
    out = {}
    for n in gm.graph.nodes:
        if "archc" in n.meta and hasattr(n.meta.get("tensor_meta"), "shape"):  # not a (map, indices) pair
            out[n.meta["archc"]] = tuple(n.meta["tensor_meta"].shape[1:])
    return out


def torchinfo_totals(graph: Graph, module=None) -> tuple[int, int, int]:
    gm = module if module is not None else lower(graph)
    stats = torchinfo.summary(gm, input_size=(1, *graph.input_shape), verbose=0, device="cpu")
    return stats.total_params, stats.total_mult_adds, stats.total_output_bytes


def assert_matches_torch(graph: Graph) -> None:
    gm = lower(graph)
    shapes = torch_shapes(graph, gm)
    for node in graph:
        assert shapes[node.name] == tuple(node.shape), f"{node.name}: IR {node.shape} vs torch {shapes[node.name]}"
    r = analyze(graph)
    assert (r.params, r.macs, r.activation_bytes) == torchinfo_totals(graph, gm)
