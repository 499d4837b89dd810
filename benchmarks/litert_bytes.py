"""Where the bytes of the fp32 and int8 files go (issue 25: "int8 files >= 3.5x smaller"): Fast-SCNN
width 1 and 0.125 at 96 px, ONNX and LiteRT, each file's bytes split by what they hold.

    nice -n 10 python benchmarks/litert_bytes.py [--md benchmarks/litert_bytes.md]

Each model is built as benchmarks/litert.py builds it (`archc build --format all --pass quantize=int8`:
seeded weights, int8 calibrated on 16 synthetic inputs). Categories, which add up to the file's size:
weights (the filters of conv / depthwise conv / fully connected ops; ONNX: Conv's input 1, or the int8
data its DequantizeLinear reads), biases (their input 2, or the int32 data), per-channel scales and zero
points (of weights and biases), activation scales and zero points (scalars), other constants (index
tables, shapes), names (ONNX: node, tensor and initializer names; LiteRT: tensor and signature names)
and the rest (the graph: ops, attributes, shapes, serialization overhead, alignment, metadata).
archc's .tflite files store each distinct quantization vector once (archc/litert/compact.py): a vector
is counted once however many tensors point at it. Needs archc[litert].
"""
from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

from mdreport import write

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = (("1", 96), ("0.125", 96))
KINDS = ("weights", "biases", "per-channel scales and zero points", "activation scales and zero points",
         "other constants", "names", "rest (graph, overhead)")


def onnx_bytes(path: Path) -> Counter:
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    g, out = model.graph, Counter()
    role = {}
    for n in g.node:
        for slot, name in enumerate(n.input):
            role.setdefault(name, (n.op_type, slot))
    for t in g.initializer:
        a = numpy_helper.to_array(t)
        op, slot = role.get(t.name, ("", -1))
        out[_onnx_kind(op, slot, a, np)] += a.nbytes
    names = [n.name for n in g.node] + [s for n in g.node for s in (*n.input, *n.output)]
    names += [t.name for t in g.initializer] + [v.name for v in (*g.value_info, *g.input, *g.output)]
    out["names"] = sum(len(s.encode()) for s in names)
    out["rest (graph, overhead)"] = path.stat().st_size - sum(out.values())
    return out


def _onnx_kind(op: str, slot: int, a, np) -> str:
    if op == "Conv" and slot in (1, 2):
        return "weights" if slot == 1 else "biases"
    scales = ("DequantizeLinear", "QuantizeLinear", "Mul")  # Mul: a bias scale made from two (onnx/compact.py)
    if op in scales and a.size > 1:
        if slot == 0 and op != "Mul":
            return "biases" if a.dtype == np.int32 else "weights"
        return "per-channel scales and zero points"
    if op in scales:
        return "activation scales and zero points"
    return "other constants"


def tflite_bytes(path: Path) -> Counter:
    from ai_edge_litert.tools import flatbuffer_utils as fb

    import numpy as np

    model, out, stored = fb.read_model(str(path)), Counter(), set()
    codes = [fb.opcode_to_name(model, i) or "" for i in range(len(model.operatorCodes))]
    for g in model.subgraphs:
        role = {}
        for op in g.operators:
            for slot, i in enumerate(op.inputs):
                role.setdefault(int(i), (codes[op.opcodeIndex], slot))
        for i, t in enumerate(g.tensors):
            op, slot = role.get(i, ("", -1))
            filt = op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV") and slot in (1, 2)
            data = model.buffers[t.buffer].data
            if data is not None and len(data):
                out[("weights" if slot == 1 else "biases") if filt else "other constants"] += len(data)
            q = t.quantization
            if q is not None and q.scale is not None:
                many = len(q.scale) > 1 or filt
                kind = "per-channel scales and zero points" if many else "activation scales and zero points"
                for vector, dtype in ((q.scale, "float32"), (q.zeroPoint, "int64")):
                    key = (dtype, np.asarray(vector if vector is not None else [], dtype).tobytes())
                    out[kind] += 0 if key in stored else len(key[1])  # each distinct vector once, as stored
                    stored.add(key)
        out["names"] += sum(len(t.name or b"") for t in g.tensors)
    for s in model.signatureDefs or []:
        out["names"] += len(s.signatureKey or b"") + sum(len(x.name or b"") for x in (*s.inputs, *s.outputs))
    out["rest (graph, overhead)"] = path.stat().st_size - sum(out.values())
    return out


def build(width: str, size: int, folder: Path) -> dict:
    from archc.compile import compile_spec
    from archc.deploy.artifacts import BuildOptions, produce

    passes = ([f"width={width}"] if width != "1" else []) + ["quantize=int8"]
    c = compile_spec(ROOT / "specs" / "fastscnn.yaml", passes, f"3x{size}x{size}")
    p = produce(c, folder, BuildOptions(formats=("onnx", "tflite")))
    return {"ORT fp32": onnx_bytes(p.models["float32"]), "ORT int8": onnx_bytes(p.models["int8"]),
            "LiteRT fp32": tflite_bytes(p.tflite["float32"]), "LiteRT int8": tflite_bytes(p.tflite["int8"])}


def table(width: str, size: int, files: dict) -> str:
    lines = [f"Fast-SCNN width {width}, {size}x{size} (bytes)\n", "| | " + " | ".join(files) + " |",
             "|---" * (len(files) + 1) + "|"]
    for kind in KINDS:
        lines.append(f"| {kind} | " + " | ".join(f"{f[kind]:,}" for f in files.values()) + " |")
    lines.append("| **file** | " + " | ".join(f"**{sum(f.values()):,}**" for f in files.values()) + " |")
    for rt in ("ORT", "LiteRT"):
        a, b = files[f"{rt} fp32"], files[f"{rt} int8"]
        tensors = lambda f: f["weights"] + f["biases"] + f["per-channel scales and zero points"]  # noqa: E731
        lines.append(f"\n{rt}: int8 file {sum(a.values()) / sum(b.values()):.2f}x smaller; weights alone "
                     f"{a['weights'] / b['weights']:.2f}x; weights, biases and their scales "
                     f"{tensors(a) / tensors(b):.2f}x.")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--md", default=None, help="also write the tables here")
    args = ap.parse_args()
    parts = []
    for width, size in CONFIGS:
        with tempfile.TemporaryDirectory(prefix="archc-bytes-") as tmp:
            parts.append(table(width, size, build(width, size, Path(tmp))))
        print(parts[-1], flush=True)
    if args.md:
        write(args.md, "Where the bytes of Fast-SCNN's fp32 and int8 files go", "litert_bytes", "\n".join(parts),
              says="benchmarks/litert.md")


if __name__ == "__main__":
    main()
