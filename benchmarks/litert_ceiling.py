"""How much faster than ONNX Runtime LiteRT fp32 could be on this CPU (issue 25's "LiteRT fp32 >= 1.5x ORT fp32
at 96 px"): each runtime's rate in multiply-accumulates per second, against the rate of one large float32
matrix product on the same core: the densest work the core does, which a network's depthwise convs,
resizes and small maps, with fewer multiply-accumulates per byte moved, stay below.

    nice -n 10 python benchmarks/litert_ceiling.py [--runs 200] [--md FILE]

Per configuration (Fast-SCNN width 1 and 0.125 at 96 px, built as `archc build --format all` builds them:
seeded weights, both files verified): LiteRT fp32 (XNNPACK, 1 thread), ORT fp32 (1 intra-op thread) and a
512x512x512 float32 torch.mm on 1 thread (MKL/oneDNN), runs interleaved in a seeded random order after 5
warmup rounds, median CPU time of the calling thread. "Ceiling" is the ratio LiteRT would reach if it ran
every MAC of the model at the matrix product's rate: ORT's time / (MACs / that rate). Needs archc[litert].
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from litert_pool import timed
from mdreport import write

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = (("1", 96), ("0.125", 96))
GEMM = 512


def runners(width: str, size: int, folder: Path) -> tuple[dict, int]:
    from archc.compile import compile_spec
    from archc.deploy.artifacts import BuildOptions, produce
    from archc.litert.interpreter import Model
    from archc.measure.profile import ort_runner

    c = compile_spec(ROOT / "specs" / "fastscnn.yaml", [f"width={width}"] if width != "1" else [], f"3x{size}x{size}")
    product = produce(c, folder, BuildOptions(formats=("onnx", "tflite")))
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    lite = Model(product.tflite["float32"], threads=1)
    return {"LiteRT fp32": lambda: lite.run(x), "ORT fp32": ort_runner(product.models["float32"], 1, "ort").run}, \
        c.report.macs


def main() -> None:
    from archc.deploy.benchmark import cpu_flags
    from archc.measure.runner import cpu_name

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--md", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    a, b = torch.randn(GEMM, GEMM), torch.randn(GEMM, GEMM)
    load = os.getloadavg()
    lines = ["| model | MACs | LiteRT fp32 ms | ORT fp32 ms | LiteRT / ORT speed | LiteRT GMAC/s | ORT GMAC/s "
             "| matmul GMAC/s | LiteRT at % of matmul | ceiling |", "|---" * 10 + "|"]
    for width, size in CONFIGS:
        with tempfile.TemporaryDirectory(prefix="archc-ceiling-") as tmp:
            run, macs = runners(width, size, Path(tmp))
            ms = timed({**run, "matmul": lambda: torch.mm(a, b)}, args.runs)
        rate = GEMM ** 3 / ms["matmul"] / 1e6  # GMAC/s
        lite, ort = (macs / ms[k] / 1e6 for k in ("LiteRT fp32", "ORT fp32"))
        lines.append(f"| Fast-SCNN width {width}, {size} px | {macs / 1e6:.1f} M | {ms['LiteRT fp32']:.3f} "
                     f"| {ms['ORT fp32']:.3f} | {ms['ORT fp32'] / ms['LiteRT fp32']:.2f}x | {lite:.1f} | {ort:.1f} "
                     f"| {rate:.1f} | {100 * lite / rate:.0f}% | {ms['ORT fp32'] / (macs / rate / 1e6):.2f}x |")
        print(lines[-1], flush=True)
    text = (f"{cpu_name()}, flags {cpu_flags()}; load average {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} "
            f"at the end; {args.runs} runs each.\n\n" + "\n".join(lines) + "\n")
    print(text)
    if args.md:
        write(args.md, "LiteRT fp32 against ONNX Runtime, and the core's matrix-product rate", "litert_ceiling", text,
              says="benchmarks/litert.md")


if __name__ == "__main__":
    main()
