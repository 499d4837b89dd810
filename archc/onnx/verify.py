"""Simplify and verify an export: onnxsim (with its own output check), then ONNX
Runtime against PyTorch on the same seeded inputs. The simplified model is kept
only if it matches; otherwise the exported one is, and the note says why."""
from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from archc.onnx import runtime
from archc.errors import ExportError

TOLERANCE = 1e-4  # max |ORT - PyTorch| for float32, relative to the output's scale when that exceeds 1


def within(diff: float, scale: float) -> bool:
    """Loaded weights give outputs of any scale (logits of 30): float32 rounding grows with it."""
    return diff <= TOLERANCE * max(1.0, scale)
SAMPLES = 2  # seeded inputs per verification
SEED = 0


@dataclass
class Checked:
    model: object  # the ModelProto to write
    nodes_exported: int
    nodes: int
    simplified: bool
    note: str  # why simplification was not kept ("" when it was)
    max_abs_diff: float
    output_scale: float  # max |PyTorch output|

    def to_json(self) -> dict:
        return {"nodes_exported": self.nodes_exported, "nodes": self.nodes, "simplified": self.simplified,
                "simplify_note": self.note or None}


def max_abs_diff(model, module, shape, dynamic_batch: bool = False) -> tuple[float, float]:
    """Largest |ORT - PyTorch| over every output of SAMPLES seeded inputs (and a batch of 2),
    and the largest |PyTorch output|, the scale that difference is small against."""
    sess = runtime.session(model)
    xs = runtime.inputs(shape, SAMPLES, SEED) + (runtime.inputs(shape, 1, SEED + 1, batch=2) if dynamic_batch else [])
    worst = scale = 0.0
    for x in xs:
        for got, want in zip(runtime.run_ort(sess, x), runtime.run_torch(module, x), strict=True):
            if got.shape != want.shape:
                raise ExportError(f"ONNX Runtime gives an output of shape {list(got.shape)}, PyTorch "
                                  f"{list(want.shape)}")
            worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - want))))
            scale = max(scale, float(np.max(np.abs(want))))
    return worst, scale


def simplify_and_verify(exported, shape) -> Checked:
    """Try onnxsim; keep its result only if its own check and ours both pass."""
    import onnx

    raw = onnx.load(str(exported.path))
    simple, note = simplify(raw, shape)
    if simple is not None:
        diff, scale = max_abs_diff(simple, exported.module, shape, exported.dynamic_batch)
        if within(diff, scale):
            return Checked(simple, exported.nodes, len(simple.graph.node), True, "", diff, scale)
        note = f"the simplified model differs from PyTorch by {diff:.3g} (> {TOLERANCE:g} x {max(1.0, scale):.3g})"
    diff, scale = max_abs_diff(raw, exported.module, shape, exported.dynamic_batch)
    if not within(diff, scale):
        raise ExportError(f"verification failed: ONNX Runtime and PyTorch differ by up to {diff:.3g} "
                          f"(tolerance {TOLERANCE:g} x output scale {max(1.0, scale):.3g}) on {SAMPLES} "
                          f"seeded inputs")
    return Checked(raw, exported.nodes, len(raw.graph.node), False, note, diff, scale)


def simplify(model, shape):
    """(simplified model, "") or (None, why not). onnxsim compares outputs on random inputs itself."""
    import onnxsim

    from archc.onnx.export import quiet
    from archc.torch.provenance import node_meta, restore_meta

    saved = node_meta(model)
    extra = {"certify": False} if "certify" in inspect.signature(onnxsim.simplify).parameters else {}
    try:
        with quiet():
            simple, ok = onnxsim.simplify(model, check_n=2, test_input_shapes={"input": [1, *shape]}, **extra)
    except Exception as exc:  # onnxsim raises RuntimeError, ValueError, ORT errors...
        return None, f"onnxsim failed ({type(exc).__name__}: {_first_line(exc)})"
    if not ok:
        return None, "onnxsim's own check found the simplified model's outputs differ"
    restore_meta(simple, saved)
    return simple, ""


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else "no message"
