"""Training throughput (images/s) of `archc train`'s loop against a plain hand-written PyTorch loop, on the
same model (the lowered Fast-SCNN, two copies from the same weights) and the same data (one archc dataset).

    OMP_NUM_THREADS=1 python benchmarks/train_throughput.py --width 0.25 --size 256 --images 128 --epochs 2

The two loops run interleaved step by step, so a busy machine slows both alike: archc's `train` calls its
`hook` before every step, and the hook runs one step of the plain loop. An archc step is the time between two
of its progress callbacks less the hook's time: reading and stacking the batch, forward, loss, backward,
AdamW, the schedule, the loss bookkeeping. The plain step is the loop a user writes: next() on a torch
DataLoader, forward, BCE, backward, AdamW. Both with batch norm training, the same batch and thread count,
no augmentation. The whole archc call (datasets read, val pass, the atomic checkpoint files) is printed too.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from archc.compile import compile_spec
from archc.torch.lower import lower
from archc.train.datasets import Segmentation
from archc.train.loop import Config, train
from archc.train.synth import synthesize


class Plain:
    """The hand-written loop, one step per call."""

    def __init__(self, module, data, batch: int):
        self.module, self.data, self.batch = module, data, batch
        self.opt = torch.optim.AdamW(module.parameters(), lr=1e-3, weight_decay=1e-4)
        self.batches = iter(())
        self.times: list = []

    def step(self) -> None:
        start = time.perf_counter()
        try:
            x, m = next(self.batches)
        except StopIteration:
            self.batches = iter(torch.utils.data.DataLoader(self.data, batch_size=self.batch, shuffle=True,
                                                            drop_last=True))
            x, m = next(self.batches)
        self.module.train()
        loss = F.binary_cross_entropy_with_logits(self.module(x)[:, 0], m.float())
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.times.append((time.perf_counter() - start, len(x)))


def measure(compiled, data_dir, plain: Plain, module, args) -> tuple:
    """Run archc's train with the plain loop interleaved; (archc step times, whole-call seconds)."""
    ticks, in_hook, ours = [], [0.0], []

    def hook(epoch, step, steps):
        start = time.perf_counter()
        plain.step()
        in_hook[0] = time.perf_counter() - start

    def progress(epoch, step, steps, loss, ips):
        now = time.perf_counter()
        if ticks and step > 1:  # from the previous step's end: its batch, forward, backward, update
            ours.append((now - ticks[-1] - in_hook[0], args.batch))
        ticks.append(now)

    with tempfile.TemporaryDirectory() as run:
        start = time.perf_counter()
        train(compiled, data_dir, Config(args.epochs, args.batch, augment=False, threads=args.threads),
              Path(run) / "run", progress=progress, hook=hook, module=module)
        return ours, time.perf_counter() - start


def ips(times) -> float:
    """Images per second of the median step."""
    return statistics.median(n / t for t, n in times)


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
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        synthesize(data_dir, 1, args.images, (args.size, args.size), seed=0)
        compiled = compile_spec("specs/fastscnn.yaml", [f"width={args.width}"], f"3x{args.size}x{args.size}")
        data = Segmentation(data_dir, "train", 1, compiled.graph.input_shape, compiled.spec.normalization())
        a, b = lower(compiled.graph), lower(compiled.graph)
        b.load_state_dict(a.state_dict())
        plain = Plain(a, data, args.batch)
        ours, seconds = measure(compiled, data_dir, plain, b, args)
    pairs = [p[0] / o[0] for p, o in zip(plain.times[1:], ours)]  # plain time / archc time = archc/plain speed
    print(f"Fast-SCNN width {args.width}, {args.size}x{args.size}, batch {args.batch}, {args.threads} thread(s), "
          f"{len(data)} train images x {args.epochs} epochs, {len(ours)} paired steps")
    print(f"plain loop  median {ips(plain.times[1:]):.2f} img/s")
    print(f"archc train median {ips(ours):.2f} img/s")
    print(f"throughput ratio archc/plain: {ips(ours) / ips(plain.times[1:]):.3f} (medians), "
          f"{statistics.median(pairs):.3f} (median of paired steps)")
    print(f"whole archc train call: {seconds:.1f} s, of which the plain loop's steps "
          f"{sum(t for t, _ in plain.times):.1f} s")


if __name__ == "__main__":
    main()
