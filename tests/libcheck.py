"""Output equivalence of a compiled spec with an independently written torch model: the compiled
model's weights (seeded, BN statistics random) copied into the reference by order and shape."""
from __future__ import annotations

import torch

from archc.compile import compile_spec
from archc.ops import OPS
from archc.torch.weights import lower_seeded


def in_execution_order(graph, module) -> list:
    """The compiled module's tensors, weight owner by weight owner in the order the graph runs them."""
    out, seen = [], set()
    for node in graph:
        if OPS[node.op].module is not None and node.owner not in seen:
            seen.add(node.owner)
            out += [(f"{node.owner}.{k}", v) for k, v in module.get_submodule(node.owner).state_dict().items()]
    return out


def copy_by_order(a: list, dst: torch.nn.Module) -> None:
    """Load the (name, tensor) list `a` into dst, pairing entries in order; shapes must agree one by one."""
    b = list(dst.state_dict().items())
    assert len(a) == len(b), f"{len(a)} tensors vs {len(b)}"
    for (na, ta), (nb, tb) in zip(a, b):
        assert ta.shape == tb.shape, f"{na} {tuple(ta.shape)} vs {nb} {tuple(tb.shape)}"
    dst.load_state_dict({nb: ta for (_, ta), (nb, _) in zip(a, b)})


def max_difference(spec: str, reference: torch.nn.Module, input=None, variables=None, seed: int = 0,
                   passes=(), relative: bool = False) -> float:
    """Largest |compiled - reference| over the outputs on one random input (after `passes`);
    `relative`: each output's divided by that output's largest |reference|."""
    graph = compile_spec(spec, list(passes), input=input, variables=variables).graph
    compiled = lower_seeded(graph, seed)
    copy_by_order(in_execution_order(graph, compiled), reference)
    reference.eval()
    x = torch.randn(1, *graph.input_shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ours, theirs = compiled(x), reference(x)
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    return max(float((o - t).abs().max()) / (float(t.abs().max()) if relative else 1.0)
               for o, t in zip(ours, theirs))


def onnx_difference(graph, folder) -> float:
    """Export `graph` (seeded weights) to ONNX under `folder`, run it in ONNX Runtime on one seeded input:
    the largest |ORT - PyTorch| over the first output, divided by max(1, its largest |PyTorch|)."""
    import numpy as np
    import onnxruntime as ort

    from archc.onnx.export import export_onnx

    exported = export_onnx(graph, folder / "model.onnx")
    x = torch.randn(1, *graph.input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = exported.module(x)
    want = (want[0] if isinstance(want, tuple) else want).numpy()
    session = ort.InferenceSession(str(exported.path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x.numpy()})[0]
    assert got.shape == want.shape
    return float(np.abs(got - want).max()) / max(1.0, float(np.abs(want).max()))
