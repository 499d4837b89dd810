"""Running a model: ONNX Runtime sessions, PyTorch eager calls and seeded inputs,
shared by verification, quantization and profiling (imports onnxruntime and numpy)."""
from __future__ import annotations

import numpy as np

from archc.errors import ExportError


def inputs(shape, n: int = 1, seed: int = 0, batch: int = 1) -> list[np.ndarray]:
    """`n` seeded standard-normal inputs of `batch` x shape (what normalized images look like)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((batch, *shape), dtype=np.float32) for _ in range(n)]


def session(model, threads: int | None = None):
    """A CPU ONNX Runtime session for a path or a ModelProto; `threads` None = ORT's default."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only: ORT warns about unused initializers etc.
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # idle threads spinning after a run would steal the CPU from whatever is timed next
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    data = model.SerializeToString() if hasattr(model, "SerializeToString") else str(model)
    try:
        return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NotImplemented types
        raise ExportError(f"ONNX Runtime cannot load the model: {str(exc).strip().splitlines()[0]}") from exc


def run_ort(sess, x: np.ndarray) -> list[np.ndarray]:
    name = sess.get_inputs()[0].name
    try:
        return sess.run(None, {name: x})
    except Exception as exc:
        raise ExportError(f"ONNX Runtime failed to run the model: {str(exc).strip().splitlines()[0]}") from exc


def run_torch(module, x: np.ndarray) -> list[np.ndarray]:
    import torch

    with torch.inference_mode():
        out = module(torch.from_numpy(x))
    return [t.numpy() for t in (out if isinstance(out, (tuple, list)) else (out,))]


def input_shape(sess) -> tuple:
    """(C, H, W) of a session's input; a symbolic dimension is refused."""
    dims = sess.get_inputs()[0].shape[1:]
    if not all(isinstance(d, int) for d in dims):
        raise ExportError(f"the model's input has symbolic size {dims}; archc profiles static H/W only")
    return tuple(dims)
