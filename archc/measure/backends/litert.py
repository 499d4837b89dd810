"""LiteRT (TFLite) with XNNPACK on the CPU: the torch module converted by litert-torch (the ONNX
file is not its input: LiteRT converts from PyTorch), then the interpreter on `threads` threads."""
from __future__ import annotations

from pathlib import Path


def load(onnx_path: Path, shape, threads: int, folder: Path, module=None):
    from archc.litert.convert import convert
    from archc.litert.interpreter import Model

    if module is None:
        from archc.errors import ExportError

        raise ExportError("--runtime litert converts from the spec's PyTorch module; give the spec, not a model file")
    model = Model(convert(module, tuple(shape), folder / "model.tflite"), threads)
    return model.run, model.bytes


def runner(path, threads: int = 1, name: str = ""):
    """A profile Runner for a .tflite file as it is (float32 or quantized), fed a seeded input."""
    from archc.litert.interpreter import Model
    from archc.measure.profile import Runner
    from archc.onnx import runtime

    model = Model(path, threads)
    x = runtime.inputs(model.input)[0]
    model.run(x)  # fails here, as one line, before any timing
    return Runner("litert", threads, model.input, lambda: model.run(x), name or Path(path).name)
