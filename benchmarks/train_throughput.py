"""Training throughput of `archc train`'s loop against a plain hand-written PyTorch loop, in CPU time, on the
same model (the lowered Fast-SCNN, two copies from the same weights), the same data and the same
augmentation (random scale 0.5-2.0, crop with ignore padding, flip: one archc dataset class on both sides).

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/train_throughput.py --width 0.25 --size 256 --images 128 --epochs 2

Method (why each part is there):
- CPU time (time.process_time), not wall clock: on a shared, loaded machine the wall clock measures the
  other jobs; the process's CPU seconds measure the work. One torch thread, no DataLoader workers, so all
  the work is this process's.
- Interleaved step by step: archc's `train` calls its `hook` before every step, and the hook runs the plain
  loop's step of the same (epoch, step) index, so slow and fast phases of the machine fall on both alike.
- The same steps paired: plain step (e, k) against archc step (e, k), both loops starting a new epoch
  together (the plain loop restarts its DataLoader when the hook's epoch changes), both with the same batch
  sizes (the last batch of an epoch is partial on both sides). An archc step is the CPU time between its
  progress callbacks k-1 and k less the hook's: reading, augmenting and stacking the batch, forward, loss,
  backward, AdamW, the schedule, the loss bookkeeping. Step 0 of an epoch (after the val pass) is left out
  on both sides.
- Whole batches counted: throughput is the images each step really had (a last batch of 6 counts 6).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from archc.compile import compile_spec
from archc.torch.lower import lower
from archc.train.augment import Augment
from archc.train.datasets import Reading, Segmentation
from archc.train.loop import Config, Run, train
from archc.train.synth import synthesize


class Plain:
    """The hand-written loop, one step per call: DataLoader, forward, BCE over labelled pixels, AdamW."""

    def __init__(self, module, data, batch: int):
        self.module, self.data, self.batch = module, data, batch
        self.opt = torch.optim.AdamW(module.parameters(), lr=1e-3, weight_decay=1e-4)
        self.epoch, self.batches = None, iter(())
        self.steps: dict = {}  # (epoch, step) -> (cpu seconds, images)

    def step(self, epoch: int, k: int) -> None:
        start = time.process_time()
        if epoch != self.epoch:
            self.epoch, self.data.epoch = epoch, epoch
            self.batches = iter(torch.utils.data.DataLoader(self.data, batch_size=self.batch, shuffle=True))
        x, m = next(self.batches)
        self.module.train()
        out = self.module(x)[:, 0]
        keep = m != 255
        loss = F.binary_cross_entropy_with_logits(out[keep], (m[keep] == 1).float())
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.steps[(epoch, k)] = (time.process_time() - start, len(x))


def measure(compiled, data_dir, plain: Plain, module, args) -> tuple:
    """Run archc's train with the plain loop interleaved; ({(epoch, step): (cpu s, images)}, whole-call cpu s)."""
    ours, last, in_hook, batch_sizes = {}, [None], [0.0], {}

    def hook(epoch, step, steps):
        start = time.process_time()
        plain.step(epoch, step)
        in_hook[0] = time.process_time() - start

    def progress(epoch, step, steps, loss, ips):
        now = time.process_time()
        if step > 1:  # step-1 is the index of the step just done; from the previous callback
            ours[(epoch, step - 1)] = (now - last[0] - in_hook[0], None)
        last[0] = now

    with tempfile.TemporaryDirectory() as run:
        start = time.process_time()
        config = Config(args.epochs, args.batch, threads=args.threads, scale=(0.5, 2.0))  # as the plain side's
        train(compiled, data_dir, config, Run(Path(run) / "run", progress=progress, hook=hook), module)
        return ours, time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        synthesize(data_dir, 1, args.images, (args.size, args.size), seed=0)
        compiled = compile_spec("specs/fastscnn.yaml", [f"width={args.width}"], f"3x{args.size}x{args.size}")
        data = Segmentation(data_dir, "train", 1, compiled.graph.input_shape, compiled.spec.normalization(),
                            Reading(Augment(), seed=1))
        a, b = lower(compiled.graph), lower(compiled.graph)
        b.load_state_dict(a.state_dict())
        plain = Plain(a, data, args.batch)
        ours, cpu = measure(compiled, data_dir, plain, b, args)
    report(args, plain.steps, ours, cpu, len(data), load)


def report(args, plain: dict, ours: dict, cpu: float, n: int, load) -> None:
    keys = sorted(k for k in ours if k in plain and k[1] > 0)
    images = [plain[k][1] for k in keys]
    assert images == [min(args.batch, n - k * args.batch) for _, k in keys], "archc's batches are these sizes too"
    p_cpu, a_cpu = sum(plain[k][0] for k in keys), sum(ours[k][0] for k in keys)
    ratios = [plain[k][0] / ours[k][0] for k in keys]
    print(f"Fast-SCNN width {args.width}, {args.size}x{args.size}, batch {args.batch}, {args.threads} thread(s), "
          f"{n} train images x {args.epochs} epochs, scale 0.5-2.0 + crop + flip on both sides")
    print(f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, at end "
          + " / ".join(f"{v:.1f}" for v in os.getloadavg()))
    print(f"{len(keys)} paired steps (same (epoch, step) on both sides), {sum(images)} images; "
          f"batch sizes {sorted(set(images))}")
    print(f"plain loop   {sum(images) / p_cpu:.2f} images per CPU second ({p_cpu:.1f} CPU s)")
    print(f"archc train  {sum(images) / a_cpu:.2f} images per CPU second ({a_cpu:.1f} CPU s)")
    print(f"throughput ratio archc/plain: {p_cpu / a_cpu:.3f} (all paired steps), "
          f"{statistics.median(ratios):.3f} (median of per-step ratios), "
          f"range {min(ratios):.3f}-{max(ratios):.3f}")
    print(f"whole archc train call: {cpu:.1f} CPU s (datasets read, val passes, checkpoints, and the plain steps)")


if __name__ == "__main__":
    main()
