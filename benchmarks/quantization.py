"""Size, speed and fidelity of archc's quantize modes against float32, for the
figures in docs/quantization.md. All models of one network are timed in one
process with their runs interleaved, at 1 and 2 threads.

    python benchmarks/quantization.py --runs 100
    python benchmarks/quantization.py --spec mobilenetv2 --runs 100
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from archc.deploy.artifacts import BuildOptions, produce
from archc.compile import compile_spec
from archc.passes import parse_pass
from archc.measure.profile import interleave, ort_runner
from archc.onnx.quantize import quantize

ROOT = Path(__file__).resolve().parent.parent
# the recommended scheme, the library's default activations (int8/int8), and the other two modes
VARIANTS = {"int8": "quantize=int8", "int8 (int8 act)": "quantize=int8,act=int8",
            "dynamic": "quantize=dynamic", "fp16": "quantize=fp16"}


def build(spec: str, folder: Path, calib) -> tuple[dict, dict]:
    """float32 model plus every variant: name -> path, name -> report."""
    c = compile_spec(ROOT / "specs" / f"{spec}.yaml")
    product = produce(c, folder, BuildOptions())
    paths, reports = {"float32": product.models["float32"]}, {}
    for name, text in VARIANTS.items():
        sub = folder / name.replace(" ", "_").replace("(", "").replace(")", "")
        sub.mkdir()
        shutil.copy(paths["float32"], sub / "model.onnx")
        q = quantize(sub / "model.onnx", parse_pass(text), c.graph.input_shape, calib, normalize=c.spec.normalization())
        paths[name], reports[name] = q.path, q.report
    return paths, reports


def timings(paths: dict, threads: int, warmup: int, runs: int) -> dict:
    runners = {name: ort_runner(p, threads, name) for name, p in paths.items()}
    times = interleave(runners, warmup, runs)
    return {name: sorted(ms)[len(ms) // 2] for name, ms in times.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spec", default="fastscnn")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--calib", type=Path, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths, reports = build(args.spec, Path(tmp), args.calib)
        medians = {t: timings(paths, t, args.warmup, args.runs) for t in (1, 2)}
        f32 = paths["float32"].stat().st_size
    print(f"{args.spec}: float32 {f32 / 1e6:.2f} MB; medians of {args.runs} interleaved runs: "
          f"1 thread {medians[1]['float32']:.2f} ms, 2 threads {medians[2]['float32']:.2f} ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| mode | size MB | size ratio | speed-up 1 thread | speed-up 2 threads | SQNR dB | argmax agreement "
          "| max abs diff |\n|---|---|---|---|---|---|---|---|")
    for name, r in reports.items():
        f = r["fidelity"]
        print(f"| {name} | {r['bytes'] / 1e6:.2f} | {r['size_ratio']:.2f} | "
              f"{medians[1]['float32'] / medians[1][name]:.2f} ({medians[1][name]:.2f} ms) | "
              f"{medians[2]['float32'] / medians[2][name]:.2f} ({medians[2][name]:.2f} ms) | {f['sqnr_db']} | "
              f"{f['argmax_agreement']:.4f} | {f['max_abs_diff']:.3g} |")


if __name__ == "__main__":
    main()
