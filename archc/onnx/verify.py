"""Simplify and verify an export: onnxsim (with its own output check) or onnxslim, then ONNX
Runtime against PyTorch on the same seeded inputs. The simplified model is kept
only if it matches; otherwise the exported one is, and the note says why.
benchmarks/simplifiers.md compares the two on every shipped spec (DEFAULT_SIMPLIFIER)."""
from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from archc.onnx import runtime
from archc.errors import ExportError, did_you_mean

TOLERANCE = 1e-4  # max |ORT - PyTorch| for float32
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
    simplifier: str = "onnxslim"

    def to_json(self) -> dict:
        return {"nodes_exported": self.nodes_exported, "nodes": self.nodes, "simplified": self.simplified,
                "simplifier": self.simplifier, "simplify_note": self.note or None}


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


def simplify_and_verify(exported, shape, simplifier: str | None = None) -> Checked:
    """Try the simplifier; keep its result only if its own check (if any) and ours both pass."""
    import onnx

    simplifier = simplifier or DEFAULT_SIMPLIFIER
    raw = onnx.load(str(exported.path))
    simple, note = simplify(raw, shape, simplifier)
    if simple is not None:
        diff, scale = max_abs_diff(simple, exported.module, shape, exported.dynamic_batch)
        if diff <= TOLERANCE:
            return Checked(simple, exported.nodes, len(simple.graph.node), True, "", diff, scale, simplifier)
        note = f"the simplified model differs from PyTorch by {diff:.3g} (> {TOLERANCE:g})"
    diff, scale = max_abs_diff(raw, exported.module, shape, exported.dynamic_batch)
    if diff > TOLERANCE:
        raise ExportError(f"verification failed: ONNX Runtime and PyTorch differ by up to {diff:.3g} "
                          f"(tolerance {TOLERANCE:g}) on {SAMPLES} seeded inputs")
    return Checked(raw, exported.nodes, len(raw.graph.node), False, note, diff, scale, simplifier)


def _onnxsim(model, shape):
    """onnxsim, which compares outputs on random inputs itself: None when its check fails."""
    import onnxsim

    extra = {"certify": False} if "certify" in inspect.signature(onnxsim.simplify).parameters else {}
    simple, ok = onnxsim.simplify(model, check_n=2, test_input_shapes={"input": [1, *shape]}, **extra)
    return simple if ok else None


def _onnxslim(model, shape):
    """onnxslim (pure Python; Ultralytics' and transformers.js's simplifier), on a copy: it edits in place."""
    import onnx

    try:
        import onnxslim
    except ImportError:
        raise ExportError("--simplifier onnxslim needs onnxslim: pip install onnxslim") from None
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return onnxslim.slim(copy)


SIMPLIFIERS = {"onnxsim": _onnxsim, "onnxslim": _onnxslim}
DEFAULT_SIMPLIFIER = "onnxslim"  # benchmarks/simplifiers.md: the same nodes and outputs, 2-45x faster


def check_simplifier(name: str | None) -> None:
    if name is not None and name not in SIMPLIFIERS:
        raise ExportError(f"--simplifier {name}: use {' or '.join(SIMPLIFIERS)}{did_you_mean(name, SIMPLIFIERS)}")


def simplify(model, shape, simplifier: str = DEFAULT_SIMPLIFIER):
    """(simplified model, "") or (None, why not)."""
    from archc.onnx.export import quiet
    from archc.torch.provenance import node_meta, restore_meta

    check_simplifier(simplifier)
    saved = node_meta(model)
    try:
        with quiet():
            simple = SIMPLIFIERS[simplifier](model, shape)
    except ExportError:
        raise
    except Exception as exc:  # simplifiers raise RuntimeError, ValueError, ORT errors...
        return None, f"{simplifier} failed ({type(exc).__name__}: {_first_line(exc)})"
    if simple is None:
        return None, f"{simplifier}'s own check found the simplified model's outputs differ"
    restore_meta(simple, saved)
    return simple, ""


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else "no message"
