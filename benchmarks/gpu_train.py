"""Fast-SCNN training speed at 512x1024 on a CUDA GPU (mixed precision on and off) and on the CPU: steps per
second and peak GPU memory, the figures the first DeepLabV3+ report tabulates per backbone. Sized to finish
in under 5 minutes on one GPU (about 1 minute of it on the CPU).

    python benchmarks/gpu_train.py --out benchmarks/gpu_train.json        # on a machine with a CUDA GPU

Two measurements per device:
- `model`: forward, loss, backward and AdamW on one fixed batch already on the device (the network alone);
- `loop`: archc's own training loop (archc.train.loop.train_epoch) over a synthetic set at 512x1024 with
  its augmentation (random scale 0.5-2.0, crop 512x1024, flip) read on the main thread, as `archc train` runs.
Each times `--steps` steps after `--warmup` untimed ones, synchronising CUDA before reading the clock.
Without a GPU only the CPU rows are written (and the table says so).
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from archc.compile import compile_spec
from archc.torch.lower import lower
from archc.train import losses
from archc.train.loop import Config, Run, Tools, datasets, make_optimizer, train_epoch
from archc.train.synth import synthesize

SIZE, CLASSES = [512, 1024], 11  # --size changes SIZE (a smoke test on a small machine)


def _sync(dev) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def model_steps(compiled, dev, amp: bool, batch: int, steps: int, warmup: int) -> float:
    """Steps per second of forward + loss + backward + AdamW on one fixed batch on `dev`."""
    module = lower(compiled.graph).to(dev).train()
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp)
    x = torch.randn(batch, 3, *SIZE, device=dev)
    m = torch.randint(0, CLASSES, (batch, *SIZE), device=dev)
    for k in range(warmup + steps):
        if k == warmup:
            _sync(dev)
            start = time.perf_counter()
        with torch.autocast(dev.type, torch.float16, enabled=amp):
            out = module(x)
            loss = losses.loss_fn(out[0] if isinstance(out, (tuple, list)) else out, m)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    _sync(dev)
    return steps / (time.perf_counter() - start)


def loop_steps(compiled, data_dir, dev, amp: bool, batch: int, steps: int) -> float:
    """Steps per second of archc's training loop (augmented batches read on the main thread) after its first
    epoch's first step."""
    config = Config(epochs=1, batch=batch, device=dev.type, amp=amp, scale=(0.5, 2.0))  # as the docstring says
    train_set, _ = datasets(compiled, data_dir, config)
    module = lower(compiled.graph).to(dev)
    opt, sched = make_optimizer(module, config, 10 ** 6)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp and dev.type == "cuda")
    ticks = []
    epoch = 0
    while len(ticks) < steps + 1:
        train_epoch(module, train_set, config, epoch, Tools(opt, sched, dev, scaler=scaler),
                    Run(progress=lambda *a: ticks.append(time.perf_counter())))
        epoch += 1
    return steps / (ticks[steps] - ticks[0])  # the loss.item() of each step synchronises CUDA


def run(args) -> list:
    compiled = compile_spec("specs/fastscnn.yaml", [], f"3x{SIZE[0]}x{SIZE[1]}", {"classes": CLASSES})
    print(f"Fast-SCNN {SIZE[0]}x{SIZE[1]}, {compiled.report.params:,} parameters, torch {torch.__version__}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        synthesize(data, CLASSES, args.images, tuple(SIZE), seed=0)
        plan = [("cuda", True), ("cuda", False)] if torch.cuda.is_available() else []
        for kind, amp in plan + [("cpu", False)]:
            dev = torch.device(kind)
            n = args.steps if kind == "cuda" else args.cpu_steps
            if kind == "cuda":
                torch.cuda.reset_peak_memory_stats()
            row = {"device": torch.cuda.get_device_name() if kind == "cuda" else platform.processor() or "cpu",
                   "amp": amp, "batch": args.batch, "steps": n,
                   "model_steps_per_s": round(model_steps(compiled, dev, amp, args.batch, n, args.warmup), 3),
                   "loop_steps_per_s": round(loop_steps(compiled, data, dev, amp, args.batch, max(2, n // 3)), 3)}
            if kind == "cuda":
                row["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=30, help="timed steps on CUDA")
    ap.add_argument("--cpu-steps", type=int, default=2, help="timed steps on the CPU")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--images", type=int, default=24, help="synthetic 512x1024 images (20%% go to val)")
    ap.add_argument("--size", default="512x1024", help="HxW")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/gpu_train.json"))
    args = ap.parse_args()
    SIZE[:] = [int(v) for v in args.size.split("x")]
    torch.set_num_threads(torch.get_num_threads())  # all cores for the CPU rows
    rows = run(args)
    args.out.write_text(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda, "rows": rows},
                                   indent=1) + "\n")
    print("| device | AMP | batch | steps/s (model) | steps/s (archc loop) | peak GPU memory |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['device']} | {'on' if r['amp'] else 'off'} | {r['batch']} | {r['model_steps_per_s']} | "
              f"{r['loop_steps_per_s']} | {r.get('peak_gpu_memory_gib', '-')}{' GiB' if 'peak_gpu_memory_gib' in r else ''} |")


if __name__ == "__main__":
    main()
