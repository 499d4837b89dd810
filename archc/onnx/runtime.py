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

    ort.set_default_logger_severity(4)  # ORT's process-wide log: errors reach the user as our one line
    opts = ort.SessionOptions()
    opts.log_severity_level = 4  # fatal only: ORT's own error log would repeat, in its format, what we raise
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
        raise ExportError(f"ONNX Runtime cannot load the model: {_first_line(exc)}") from None


def run_ort(sess, x: np.ndarray) -> list[np.ndarray]:
    name = sess.get_inputs()[0].name
    try:
        return sess.run(None, {name: x})
    except Exception as exc:  # ORT's Fail/RuntimeException types, or MemoryError
        raise ExportError(f"ONNX Runtime failed to run the model: {_first_line(exc)}") from None


def _first_line(exc) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def run_torch(module, x: np.ndarray) -> list[np.ndarray]:
    import torch

    with torch.inference_mode():
        out = module(torch.from_numpy(x))
    return [t.numpy() for t in (out if isinstance(out, (tuple, list)) else (out,))]


MAX_INPUT = 2**28  # elements of one input (1 GiB of float32): past it, feeding it would exhaust memory


def input_shape(sess, name: str = "the model") -> tuple:
    """(C, H, W) of a session's one float32 N×C×H×W input; anything archc cannot feed is refused
    before a tensor is made (several inputs, another type, a symbolic or huge size)."""
    ins = sess.get_inputs()
    if len(ins) != 1:
        raise ExportError(f"{name} has {len(ins)} inputs ({', '.join(i.name for i in ins) or 'none'}); "
                          f"archc feeds one image tensor N×C×H×W")
    dims, kind = ins[0].shape, ins[0].type
    if kind != "tensor(float)":
        raise ExportError(f"{name}: input '{ins[0].name}' is {kind}; archc feeds float32 images (tensor(float))")
    if len(dims) != 4 or not all(isinstance(d, int) and d > 0 for d in dims[1:]):
        raise ExportError(f"{name}: input '{ins[0].name}' has shape {dims}; archc feeds N×C×H×W with static "
                          f"C, H and W")
    if int(np.prod(dims[1:], dtype=np.float64)) > MAX_INPUT:
        raise ExportError(f"{name}: input of shape {dims} has more than {MAX_INPUT:,} elements; "
                          f"export it at a smaller input size")
    return tuple(dims[1:])
