"""The LiteRT interpreter (ai-edge-litert, XNNPACK delegate on CPU) for one .tflite file: archc's
NCHW float32 input in, the model's outputs out. litert-torch keeps PyTorch's NCHW at the model's
boundary (it transposes inside), so what archc feeds ONNX Runtime feeds LiteRT unchanged."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from archc.errors import ExportError
from archc.litert import require


@contextlib.contextmanager
def quiet_fd():
    """The TFLite runtime prints (C++, to fd 2) 'Created TensorFlow Lite XNNPACK delegate' and more."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class Model:
    """One interpreter; `run(x)` takes N×C×H×W float32 (N as the file has it) and returns its outputs."""

    def __init__(self, path, threads: int = 1):
        require("ai_edge_litert")
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        if not self.path.is_file():
            raise ExportError(f"{self.path}: no such .tflite file")
        try:
            with quiet_fd():
                self.interp = Interpreter(model_path=str(self.path), num_threads=threads)
                self.interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ExportError(f"LiteRT cannot load {self.path.name}: {_first_line(exc)}") from None
        ins = self.interp.get_input_details()
        if len(ins) != 1 or ins[0]["dtype"] not in FEEDS or len(ins[0]["shape"]) != 4:
            raise ExportError(f"{self.path.name}: archc feeds one N×C×H×W input (float32, or int8 / uint8 with "
                              f"a scale); this model takes "
                              f"{[(i['shape'].tolist(), np.dtype(i['dtype']).name) for i in ins]}")
        self.input_detail = ins[0]
        self.input = tuple(int(d) for d in ins[0]["shape"][1:])  # (C, H, W)
        self.output_details = self.interp.get_output_details()

    @property
    def layout(self) -> dict:
        """What the file takes and gives, for the build's summary."""
        i = self.input_detail
        return {"input": {"shape": i["shape"].tolist(), "layout": "NCHW", "dtype": np.dtype(i["dtype"]).name,
                          **_scale(i)},
                "outputs": [{"shape": o["shape"].tolist(), "dtype": np.dtype(o["dtype"]).name, **_scale(o)}
                            for o in self.output_details]}

    @property
    def bytes(self) -> int:
        return self.path.stat().st_size

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        try:
            self.interp.set_tensor(self.input_detail["index"], _quantized(x, self.input_detail))
            self.interp.invoke()
        except (ValueError, RuntimeError) as exc:
            raise ExportError(f"LiteRT failed to run {self.path.name}: {_first_line(exc)}") from None
        return [_dequantized(self.interp.get_tensor(o["index"]), o) for o in self.output_details]


FEEDS = (np.float32, np.int8, np.uint8)  # an int8 model's input may be quantized itself (full-integer)


def _scale(detail) -> dict:
    scale, zero = detail["quantization"]
    return {"scale": float(scale), "zero_point": int(zero)} if scale else {}


def _quantized(x: np.ndarray, detail) -> np.ndarray:
    """float32 NCHW as the input tensor wants it: as it is, or q = round(x / scale) + zero point."""
    kind = detail["dtype"]
    if kind == np.float32:
        return np.ascontiguousarray(x, dtype=np.float32)
    scale, zero = detail["quantization"]
    info = np.iinfo(kind)
    return np.clip(np.round(x / scale) + zero, info.min, info.max).astype(kind)


def _dequantized(y: np.ndarray, detail) -> np.ndarray:
    scale, zero = detail["quantization"]
    if detail["dtype"] == np.float32 or not scale:
        return y  # get_tensor gave a copy already
    return ((y.astype(np.float32) - zero) * scale).astype(np.float32)


def _first_line(exc) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
