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

ABS_TOL = 1e-4  # |ORT - PyTorch| allowed at any scale and depth
REL_TOL = 5e-5  # and per unit of output scale, per conv on the deepest path (float32 rounding accumulates)
WEIGHTED = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
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
    tolerance: float  # what max_abs_diff was held to (see `tolerance`)
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
            _check_finite(got, want)
            worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0)))
            scale = max(scale, float(np.max(np.abs(want), initial=0.0)))
    return worst, scale


def _check_finite(got, want) -> None:
    """NaN compares as neither larger nor smaller, so max() would keep the last finite diff: refuse it."""
    bad = {name: int(np.size(a) - np.count_nonzero(np.isfinite(a))) for name, a in
           (("ONNX Runtime", got), ("PyTorch", want))}
    if any(bad.values()):
        raise ExportError(f"verification failed: {bad['ONNX Runtime']:,} ONNX Runtime and {bad['PyTorch']:,} PyTorch "
                          f"output values of {np.size(want):,} are NaN or infinite; a layer's values make it "
                          f"invalid (e.g. bn eps <= 0, huge weights), fix the spec")


def depth(model) -> int:
    """Weighted layers (conv, gemm) on the deepest path from the input to an output."""
    at: dict = {}
    for node in model.graph.node:  # ONNX keeps nodes in topological order
        d = max((at.get(i, 0) for i in node.input), default=0) + (node.op_type in WEIGHTED)
        for o in node.output:
            at[o] = d
    return max((at.get(o.name, 0) for o in model.graph.output), default=0)


def tolerance(scale: float, layers: int) -> float:
    """ABS_TOL + REL_TOL × output scale × depth: float32 error grows with both (see docs/export.md)."""
    return ABS_TOL + REL_TOL * scale * max(1, layers)


def simplify_and_verify(exported, shape, simplifier: str | None = None) -> Checked:
    """Try the simplifier; keep its result only if its own check (if any) and ours both pass."""
    import onnx

    simplifier = simplifier or DEFAULT_SIMPLIFIER
    raw = onnx.load(str(exported.path))
    layers = depth(raw)
    simple, note = simplify(raw, shape, simplifier)
    if simple is not None:
        diff, scale = max_abs_diff(simple, exported.module, shape, exported.dynamic_batch)
        tol = tolerance(scale, layers)  # the scale is PyTorch's: the same for either model
        if diff <= tol:
            return Checked(simple, exported.nodes, len(simple.graph.node), True, "", diff, scale, tol, simplifier)
        note = f"the simplified model differs from PyTorch by {diff:.3g} (> {tol:.3g})"
    diff, scale = max_abs_diff(raw, exported.module, shape, exported.dynamic_batch)
    tol = tolerance(scale, layers)
    if diff > tol:
        raise ExportError(f"verification failed: ONNX Runtime and PyTorch differ by up to {diff:.3g} "
                          f"(tolerance {tol:.3g} for output scale {scale:.3g} and depth {layers}) on "
                          f"{SAMPLES} seeded inputs")
    return Checked(raw, exported.nodes, len(raw.graph.node), False, note, diff, scale, tol, simplifier)


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
