"""A .tflite file rewritten smaller, computing the same (every .tflite archc writes goes through it):

- the converter's tensor names without torch.export's wrapper path and torch.nn's module prefix
  ('BatchNorm2d_bn;;Conv2d_conv;4' is what remains of about 250 characters), when they stay unique
  (ai-edge-quantizer keys tensors by name);
- each distinct quantization vector (scales, zero points, min/max) and shape vector stored once, every tensor
  that has it pointing there: flatbuffers lets tables share a vector, and LiteRT reads each as before.
  ai-edge-quantizer's int8 gives every per-channel weight and bias tensor its own int64 zero points, all
  zeros, which the interpreter requires as many of as scales: 16 of the 24 bytes an output channel costs
  beside its weights and bias (benchmarks/litert_bytes.md).

Weight buffers are written as they were, never shared. A file whose weights lie outside the flatbuffer
(over 2 GB) is left as it is.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

_WRAPPER = re.compile(r"[\w.<>]*<locals>\.Wrapper/?")  # torch.export's wrapper, ~115 characters, in most names
_MODULES = re.compile(r"torch\.nn\.modules\.\w+\.")  # 'torch.nn.modules.conv.Conv2d_conv' -> 'Conv2d_conv'
# the vectors shared when equal: (table field, numpy dtype the schema gives it)
_QUANT = (("scale", "float32"), ("zeroPoint", "int64"), ("min", "float32"), ("max", "float32"))
_SHAPE = (("shape", "int32"), ("shapeSignature", "int32"))


def compact(path: Path) -> bool:
    """Rewrite `path` in place (a build's temporary folder: the build publishes it whole); True when
    rewritten."""
    from ai_edge_litert.tools import flatbuffer_utils as fb

    path = Path(path)
    try:
        model = fb.read_model(str(path))
        if any(b.offset for b in model.buffers):
            return False
        short_names(model)
        as_arrays(model)
        if sys.byteorder == "big":  # the file is little-endian, as flatbuffer_utils.write_model writes it
            fb.byte_swap_tflite_model_obj(model, "big", "little")
        data = packed(model)
    except Exception:  # noqa: BLE001 - a schema or flatbuffers release this does not know: the file stays as it is
        return False
    tmp = path.with_name(f".{path.name}.compact")
    try:  # whole or not at all
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def short_names(model) -> bool:
    tensors = [t for g in model.subgraphs for t in g.tensors if t.name]
    short = [_MODULES.sub("", _WRAPPER.sub("", t.name.decode())).encode() for t in tensors]
    if len(set(short)) < len(short):
        return False
    for t, name in zip(tensors, short):
        t.name = name
    return True


def as_arrays(model) -> None:
    """The vectors that may be shared as numpy arrays (flatbuffer_utils reads them as lists), so that the
    packer below sees each whole."""
    import numpy as np

    for g in model.subgraphs:
        for t in g.tensors:
            q = t.quantization
            for obj, fields in ((q, _QUANT), (t, _SHAPE)):
                for field, dtype in fields if obj is not None else ():
                    value = getattr(obj, field)
                    if value is not None and len(value):
                        setattr(obj, field, np.asarray(value, dtype=dtype))


def packed(model) -> bytes:
    """The model serialized with each equal quantization or shape vector written once."""
    import flatbuffers

    class SharingBuilder(flatbuffers.Builder):
        def __init__(self, size):
            super().__init__(size)
            self.seen = {}

        def CreateNumpyVector(self, x):  # noqa: N802 - flatbuffers' name
            if x.dtype.itemsize == 1:  # a buffer's bytes (uint8): weights are never shared
                return super().CreateNumpyVector(x)
            key = (x.dtype.str, x.tobytes())
            if key not in self.seen:
                self.seen[key] = super().CreateNumpyVector(x)
            return self.seen[key]

    builder = SharingBuilder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
