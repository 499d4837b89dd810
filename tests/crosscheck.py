"""Cross-checks between archc's IR and torch: forward shapes of every module
application, and torchinfo's totals. Shared by the pass tests."""
from __future__ import annotations

import torch
import torchinfo

from archc.ir.analysis import analyze
from archc.ops import OPS
from archc.torch.lower import lower


def torchinfo_figures(graph) -> tuple:
    """(params, MACs, activation bytes) that torchinfo 1.8 reports for the lowered module."""
    s = torchinfo.summary(lower(graph), input_size=(1, *graph.input_shape), verbose=0, device="cpu")
    return s.total_params, s.total_mult_adds, s.total_output_bytes


def archc_figures(graph) -> tuple:
    r = analyze(graph)
    return r.params, r.macs, r.activation_bytes


def forward_shapes(graph) -> tuple:
    """(IR shapes, torch shapes): per module, every application in order, plus the outputs."""
    gm = lower(graph)
    seen: dict = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, name=name: seen.setdefault(name, []).append(tuple((o[0] if isinstance(o, tuple) else o).shape[1:])))
             for name, m in gm.named_modules() if name and not list(m.children())]
    with torch.no_grad():
        out = gm(torch.zeros(1, *graph.input_shape))
    for h in hooks:
        h.remove()
    expected: dict = {}
    for node in graph:
        if OPS[node.op].module is not None:
            expected.setdefault(node.owner, []).append(tuple(node.shape))
    outs = out if isinstance(out, tuple) else (out,)
    expected["<outputs>"] = [tuple(graph.shape(o)) for o in graph.outputs]
    seen["<outputs>"] = [tuple(o.shape[1:]) for o in outs]
    return expected, seen


def counts_agree(graph, ref) -> None:
    """archc's `graph` against a plain-torch reference model `ref` at the graph's input: every module's shapes
    are torch's, and archc's (params, MACs, activation bytes) equal torchinfo's on the lowered module and on
    `ref`."""
    expected, seen = forward_shapes(graph)
    assert expected == seen
    s = torchinfo.summary(ref, input_size=(1, *graph.input_shape), verbose=0, device="cpu")
    assert archc_figures(graph) == torchinfo_figures(graph) == (s.total_params, s.total_mult_adds,
                                                                s.total_output_bytes)


def refnet_agrees(graph, ref, shape: tuple, mapping=None) -> None:
    """The refnet's state_dict (random BN statistics, seeded) loaded into archc's lowered `graph` by
    --weights' pairing (`mapping`: a weights map) pairs every tensor, and the two give the same output on a
    seeded input of `shape` (N, C, H, W): within 1e-5 of the output's magnitude (1.0 at the least)."""
    from archc.torch.weights import lowered_report, randomize_bn

    randomize_bn(ref)
    ref.eval()
    module, report = lowered_report(graph, ref.state_dict(), mapping)
    assert len(report.paired) == sum(1 for k in ref.state_dict() if not k.endswith("num_batches_tracked"))
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got, want = module(x), ref(x)
    assert float((got - want).abs().max()) <= 1e-5 * max(1.0, float(want.abs().max()))
