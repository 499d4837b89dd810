"""A .tflite file against PyTorch, by the ONNX build's rule: the same seeded inputs, the same
tolerance (ABS_TOL + REL_TOL × output scale × depth), NaN or infinity refused."""
from __future__ import annotations

import numpy as np

from archc.errors import ExportError
from archc.ir.graph import Graph
from archc.ops import OPS
from archc.onnx import runtime
from archc.onnx.verify import SAMPLES, SEED, tolerance


def depth(graph: Graph) -> int:
    """Weighted layers (conv, deconv, linear) on the deepest path, as verify.depth counts ONNX's."""
    at: dict = {}
    for node in graph:
        at[node.name] = max((at.get(i, 0) for i in node.inputs), default=0) + bool(OPS[node.op].weighted)
    return max((at.get(o, 0) for o in graph.outputs), default=0)


def verify(model, module, shape, layers: int) -> dict:
    """{max_abs_diff, tolerance, output_max_abs, inputs} of LiteRT `model` (interpreter.Model) vs
    `module`; ExportError when over the tolerance or not finite."""
    worst = scale = 0.0
    for x in runtime.inputs(shape, SAMPLES, SEED):
        for got, want in zip(model.run(x), runtime.run_torch(module, x), strict=True):
            if got.shape != want.shape:
                raise ExportError(f"LiteRT gives an output of shape {list(got.shape)}, PyTorch {list(want.shape)}")
            bad = int(np.size(got) - np.count_nonzero(np.isfinite(got)))
            if bad or not np.all(np.isfinite(want)):
                raise ExportError(f"verification failed: {bad:,} LiteRT output values of {np.size(got):,} are NaN or "
                                  f"infinite (PyTorch's: {np.size(want) - np.count_nonzero(np.isfinite(want)):,}); a "
                                  f"layer's values make it invalid (e.g. bn eps <= 0, huge weights), fix the spec")
            worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0)))
            scale = max(scale, float(np.max(np.abs(want), initial=0.0)))
    tol = tolerance(scale, layers)
    if not worst <= tol:
        raise ExportError(f"verification failed: LiteRT and PyTorch differ by up to {worst:.3g} (tolerance "
                          f"{tol:.3g} for output scale {scale:.3g} and depth {layers}) on {SAMPLES} seeded inputs"
                          + _ties(module))
    return {"runtime": "litert", "against": "torch", "max_abs_diff": worst, "tolerance": tol,
            "output_max_abs": scale, "inputs": f"{SAMPLES} seeded standard-normal inputs (seed {SEED})"}


def _ties(module) -> str:
    """Why a graph that max-unpools may fail here with a correct file: the unpool puts each value where its
    pooling window's maximum was, and a window whose two largest values lie within float32 rounding of each
    other picks either under another (valid) rounding; the value then lands one pixel over (SegNet)."""
    import torch.fx
    import torch.nn.functional as F

    paths = [n.meta.get("archc", n.name) for m in module.modules() if isinstance(m, torch.fx.GraphModule)
             for n in m.graph.nodes if n.op == "call_function" and n.target is F.max_unpool2d]
    if not paths:
        return ""
    more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
    return (f"; op 'max_unpool' ({paths[0]}{more}) moves each value to its pooling window's maximum, and where two "
            f"values of a window are within float32 rounding of each other LiteRT may keep the other one (PyTorch "
            f"with another conv algorithm may too): see docs/export.md, LiteRT")
