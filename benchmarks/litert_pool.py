"""Why LiteRT fp32 was slower than ONNX Runtime for Fast-SCNN at 96 px (issue 25): its PPM pools a 3x3 map
to 2, 4 and 8 bins, which torch.export decomposes into gathers and masks. The same seeded module converted
two ways, timed interleaved with the ONNX model in ONNX Runtime:

    nice -n 10 python benchmarks/litert_pool.py [--width 1] [--size 96] [--runs 60] [--md FILE]

- "torch.export's decomposition": litert_torch.convert on the module as archc lowers it (the build before
  7 December);
- "archc's matrix product": archc.litert.convert.convert, which swaps each such pool for one matrix product
  (archc/litert/convert.py, MatmulPool), as `archc build --format tflite` does now.

Per file: its op types, the delegate partitions LiteRT made (XNNPACK takes each partition whole; ops between
partitions run in LiteRT's reference kernels), the largest difference from PyTorch, and the median CPU time
of the calling thread per run (1 thread, runs interleaved in a seeded random order after 5 warmup rounds).
Needs archc[litert].
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from mdreport import write
ROOT = Path(__file__).resolve().parents[1]


def files(width: str, size: int, folder: Path) -> tuple:
    """(module, {label: path}): the build's verified model.onnx and model.tflite (archc's lowering), and
    the same module converted by litert_torch as torch.export decomposes it."""
    import litert_torch

    from archc.compile import compile_spec
    from archc.deploy.artifacts import BuildOptions, produce
    from archc.litert.compact import compact

    c = compile_spec(ROOT / "specs" / "fastscnn.yaml", [f"width={width}"] if width != "1" else [], f"3x{size}x{size}")
    product = produce(c, folder, BuildOptions(formats=("onnx", "tflite")))
    raw = folder / "decomposed.tflite"
    litert_torch.convert(product.module.eval(), (torch.zeros(1, 3, size, size),)).export(str(raw))
    compact(raw)  # named and packed as the build names them, so that the sizes compare the graphs alone
    return product.module, {"LiteRT, torch.export's decomposition": raw,
                            "LiteRT, archc's matrix product": product.tflite["float32"],
                            "ONNX Runtime": product.models["float32"]}


def describe(path: Path) -> dict:
    from archc.litert.interpreter import Model, quiet_fd

    model = Model(path)
    with quiet_fd():
        ops = Counter(op["op_name"] for op in model.interp._get_ops_details())
    partitions = ops.pop("DELEGATE", 0)
    return {"model": model, "partitions": partitions, "ops": dict(ops.most_common()), "bytes": path.stat().st_size}


def timed(runners: dict, runs: int) -> dict:
    """Name -> median CPU ms of the calling thread: archc's interleaving (archc.measure.profile.interleave),
    5 warmup rounds."""
    from types import SimpleNamespace

    from archc.measure.profile import interleave

    cpu = interleave({n: SimpleNamespace(run=f) for n, f in runners.items()}, 5, runs, clock=time.thread_time)
    return {n: float(np.median(v)) for n, v in cpu.items()}


def main() -> None:
    from archc.deploy.benchmark import cpu_flags
    from archc.measure.profile import ort_runner
    from archc.measure.runner import cpu_name

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", default="1")
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--md", default=None)
    args = ap.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="archc-pool-") as tmp:
        module, paths = files(args.width, args.size, Path(tmp))
        x = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
        want = module(x).detach().numpy()
        rows = {k: describe(p) for k, p in paths.items() if p.suffix == ".tflite"}
        runners = {k: (lambda m=r["model"]: m.run(x.numpy())) for k, r in rows.items()}
        runners["ONNX Runtime"] = ort_runner(paths["ONNX Runtime"], 1, "ort").run
        ms = timed(runners, args.runs)
        diffs = {k: float(np.abs(r["model"].run(x.numpy())[0] - want).max()) for k, r in rows.items()}
        onnx_bytes = paths["ONNX Runtime"].stat().st_size
    lines = [f"Fast-SCNN width {args.width}, {args.size}x{args.size}; {cpu_name()}, flags {cpu_flags()}; "
             f"load average {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; {args.runs} runs each.\n",
             "| file | median CPU ms | ORT fp32 / it | partitions | bytes | max diff vs PyTorch | ops |",
             "|---|---|---|---|---|---|---|"]
    for k, r in rows.items():
        ops = ", ".join(f"{n} {c}" for n, c in r["ops"].items())
        lines.append(f"| {k} | {ms[k]:.3f} | {ms['ONNX Runtime'] / ms[k]:.2f}x | {r['partitions']} | {r['bytes']:,} "
                     f"| {diffs[k]:.1e} | {ops} |")
    lines.append(f"| ONNX Runtime (model.onnx) | {ms['ONNX Runtime']:.3f} | 1.00x | - | {onnx_bytes:,} | - | - |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.md:
        write(args.md, "LiteRT: Fast-SCNN's adaptive pooling, decomposed or as a matrix product", "litert_pool", text)


if __name__ == "__main__":
    main()
