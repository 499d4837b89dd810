"""LiteRT (XNNPACK) fp32 / fp16 / dynamic / int8 against ONNX Runtime fp32 / int8, 1 thread, on this CPU:
Fast-SCNN at width 1 and 0.125 (96 and 512 px) and DeepLabV3+ MobileNetV2 (512 px).

    nice -n 10 python benchmarks/litert.py [--configs fastscnn:1:96,...] [--runs 20] [--json FILE]

Each configuration is built as `archc build --format all --pass quantize=int8` builds it (seeded weights,
both files verified against PyTorch; int8 calibrated on 16 synthetic inputs), plus fp16 and dynamic
.tflite files from the verified model.tflite. All six models are then timed in one process, runs
interleaved in a seeded random order each round, after warmup runs; per run the calling thread's CPU
time (both runtimes compute on the calling thread at 1 thread) and the wall time. Needs archc[litert].
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from archc.compile import compile_spec
from archc.deploy.artifacts import BuildOptions, produce
from archc.deploy.benchmark import cpu_flags
from archc.deploy.tflite import runners as tflite_runners
from archc.litert.quantize import quantize as tflite_quantize
from archc.measure.profile import ort_runner
from archc.measure.runner import cpu_name
from archc.passes import parse_pass

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("fastscnn:0.125:96", "fastscnn:1:96", "fastscnn:0.125:512", "fastscnn:1:512",
           "deeplabv3plus_mobilenetv2:1:512")


def build(config: str, folder: Path) -> dict:
    """name -> (Runner, bytes) for the six models of one configuration."""
    spec, width, size = config.split(":")
    passes = ([f"width={width}"] if width != "1" else []) + ["quantize=int8"]
    c = compile_spec(ROOT / "specs" / f"{spec}.yaml", passes, f"3x{size}x{size}")
    product = produce(c, folder, BuildOptions(formats=("onnx", "tflite")))
    files = {"ORT fp32": product.models["float32"], "ORT int8": product.models["int8"],
             "LiteRT fp32": product.tflite["float32"], "LiteRT int8": product.tflite["int8"]}
    for mode in ("fp16", "dynamic"):
        files[f"LiteRT {mode}"] = tflite_quantize(product.tflite["float32"], parse_pass(f"quantize={mode}"),
                                                  c.graph.input_shape)[0]
    runners = {name: (ort_runner(p, 1, name) if p.suffix == ".onnx" else tflite_runners({name: p}, 1)[p.name])
               for name, p in files.items()}
    return {name: (runners[name], files[name].stat().st_size) for name in files}


def time_all(models: dict, warmup: int, runs: int) -> dict:
    names, rng = list(models), np.random.default_rng(0)
    cpu, wall = {n: [] for n in names}, {n: [] for n in names}
    for i in range(warmup + runs):
        for name in rng.permutation(names):
            c0, w0 = time.thread_time(), time.perf_counter()
            models[name][0].run()
            c1, w1 = time.thread_time(), time.perf_counter()
            if i >= warmup:
                cpu[name].append((c1 - c0) * 1e3)
                wall[name].append((w1 - w0) * 1e3)
    return {n: {"cpu_ms": round(float(np.median(cpu[n])), 3), "wall_ms": round(float(np.median(wall[n])), 3),
                "bytes": models[n][1], "runs": runs} for n in names}


def table(results: list) -> str:
    order = ("ORT fp32", "ORT int8", "LiteRT fp32", "LiteRT fp16", "LiteRT dynamic", "LiteRT int8")
    lines = ["| model | input | " + " | ".join(order) + " | LiteRT fp32 vs ORT fp32 | int8 size ratio (LiteRT, ORT) |",
             "|---" * (len(order) + 4) + "|"]
    for r in results:
        t = r["timings"]
        base = t["ORT fp32"]["cpu_ms"]
        cells = [f"{t[n]['cpu_ms']:.2f}" for n in order]
        ratio_lt = t["LiteRT fp32"]["bytes"] / t["LiteRT int8"]["bytes"]
        ratio_ort = t["ORT fp32"]["bytes"] / t["ORT int8"]["bytes"]
        lines.append(f"| {r['model']} | {r['input']} | " + " | ".join(cells)
                     + f" | {base / t['LiteRT fp32']['cpu_ms']:.2f}x | {ratio_lt:.2f}x, {ratio_ort:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "litert.json"))
    args = ap.parse_args()
    out = {"cpu": cpu_name(), "flags": cpu_flags(), "load_before": os.getloadavg(), "results": []}
    for config in args.configs.split(","):
        spec, width, size = config.split(":")
        with tempfile.TemporaryDirectory(prefix="archc-litert-") as tmp:
            models = build(config, Path(tmp))
            runs = args.runs if int(size) <= 256 else max(5, args.runs // 2)
            timings = time_all(models, args.warmup, runs)
        out["results"].append({"model": f"{spec} width {width}", "input": f"{size}x{size}", "timings": timings,
                               "load": os.getloadavg()})
        print(json.dumps(out["results"][-1]), flush=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    out["load_after"] = os.getloadavg()
    Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print(table(out["results"]))


if __name__ == "__main__":
    main()
