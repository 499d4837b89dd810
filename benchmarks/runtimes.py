"""ONNX Runtime, OpenVINO and ncnn on Fast-SCNN (512x512) and MobileNetV2 (224x224), for
benchmarks/runtimes.md: each runtime verified against PyTorch (archc's seeded inputs, 1e-4)
before it is timed, and the three timed in one process with their runs interleaved in a
seeded random order, so a shared machine's drift hits them alike; medians.

    python benchmarks/runtimes.py --runs 60 --threads 1 2
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from archc.compile import compile_spec
from archc.deploy.artifacts import BuildOptions, produce
from archc.measure.backends import verified_runner
from archc.measure.profile import measure, ort_runner

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"Fast-SCNN 512x512": ("fastscnn", "3x512x512"), "MobileNetV2 224x224": ("mobilenetv2", "3x224x224")}


def runners(spec: str, size: str, threads: int, folder: Path) -> tuple[dict, dict]:
    """name -> Runner, name -> max |diff| vs PyTorch, for ORT, OpenVINO and ncnn."""
    c = compile_spec(ROOT / "specs" / f"{spec}.yaml", [], size)
    product = produce(c, folder, BuildOptions())
    onnx_file = product.models["float32"]
    out = {"onnxruntime": ort_runner(onnx_file, threads)}
    diffs = {"onnxruntime": product.summary["verify"]["max_abs_diff"]}
    for name in ("openvino", "ncnn"):
        (folder / name).mkdir(exist_ok=True)
        out[name], diffs[name], _ = verified_runner(name, onnx_file, product.module, c.graph.input_shape, threads,
                                                    folder / name)
    return out, diffs


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=60)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    a = p.parse_args()
    print("| model | threads | runtime | max abs diff vs PyTorch | median ms | p90 ms | median / ORT |")
    print("|---|---|---|---|---|---|---|")
    for label, (spec, size) in MODELS.items():
        for threads in a.threads:
            with tempfile.TemporaryDirectory() as tmp:
                rs, diffs = runners(spec, size, threads, Path(tmp))
                timed = measure(rs, a.warmup, a.runs)
            base = timed["onnxruntime"]["median_ms"]
            for name, r in timed.items():
                print(f"| {label} | {threads} | {name} | {diffs[name]:.2g} | {r['median_ms']:.2f} | "
                      f"{r['p90_ms']:.2f} | {r['median_ms'] / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()
