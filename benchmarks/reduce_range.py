"""int8 fidelity with 7-bit (`reduce_range`, archc's default) and full 8-bit weights on this CPU, and
whether ONNX Runtime's integer kernels lose anything against the same QDQ model computed in float.

    nice -n 10 python benchmarks/reduce_range.py [--md benchmarks/reduce_range.md]

benchmarks/train_quality.md explains the default by `vpmaddubsw` saturating with full-range weights on
a CPU without VNNI. This script measures what holds on the machine it runs on: Fast-SCNN width 0.25 at
128x128 (tests/test_quantize.py's small build, seeded weights), int8 calibrated on 16 synthetic inputs,
SQNR against float32 on 16 other synthetic inputs, for the int8 model run (a) as ONNX Runtime optimizes
it (QDQ fused into integer kernels: QLinearConv) and (b) with graph optimizations off, where each
DequantizeLinear -> Conv -> QuantizeLinear runs in float, so integer overflow cannot occur.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from mdreport import write

ROOT = Path(__file__).resolve().parents[1]


def session(path, optimize: bool):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                  else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    return ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])


def sqnr(ref, q, xs) -> float:
    name = ref.get_inputs()[0].name
    want = np.concatenate([ref.run(None, {name: x})[0].ravel() for x in xs]).astype(np.float64)
    err = want - np.concatenate([q.run(None, {name: x})[0].ravel() for x in xs])
    return float(10 * np.log10((want ** 2).sum() / (err ** 2).sum()))


def main() -> None:
    from archc.compile import compile_spec
    from archc.deploy.artifacts import BuildOptions, produce
    from archc.deploy.benchmark import cpu_flags
    from archc.measure.runner import cpu_name
    from archc.onnx import runtime
    from archc.onnx.quantize import FIDELITY_SAMPLES, FIDELITY_SEED

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--md", default=None)
    args = ap.parse_args()
    xs = runtime.inputs((3, 128, 128), FIDELITY_SAMPLES, FIDELITY_SEED)
    lines = ["| weights | SQNR, ORT integer kernels (dB) | SQNR, the same QDQ model in float (dB) |", "|---|---|---|"]
    for rr, label in (("true", "7-bit (`reduce_range=true`, the default)"), ("false", "8-bit (`reduce_range=false`)")):
        c = compile_spec(ROOT / "specs" / "fastscnn.yaml", ["width=0.25", f"quantize=int8,reduce_range={rr}"],
                         "3x128x128")
        with tempfile.TemporaryDirectory(prefix="archc-rr-") as tmp:
            p = produce(c, Path(tmp), BuildOptions())
            ref = session(p.models["float32"], True)
            fused, plain = session(p.models["int8"], True), session(p.models["int8"], False)
            lines.append(f"| {label} | {sqnr(ref, fused, xs):.2f} | {sqnr(ref, plain, xs):.2f} |")
    import onnxruntime

    text = (f"{cpu_name()}, flags {cpu_flags()}, onnxruntime {onnxruntime.__version__}, "
            f"load average {os.getloadavg()[0]:.1f}.\n\n" + "\n".join(lines) + "\n")
    print(text)
    if args.md:
        write(args.md, "int8: 7-bit or 8-bit weights on this CPU", "reduce_range", text)


if __name__ == "__main__":
    main()
