"""Analytic analysis (IR only, no torch) vs torchinfo on the same 100 Fast-SCNN variants.

    python benchmarks/analysis_speed.py [--variants 100]

For each variant (width x input x classes) it times, side by side in one run:
  analytic : build the IR from the spec + analyze()                 (what `archc summary` does)
  torchinfo: build the IR + lower to torch + torchinfo.summary()    (what a user script does)
and checks that both give the same params, MACs and activation bytes.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import time

import torchinfo

from archc.ir.analysis import analyze
from archc.ir.build import build
from archc.compile import compile_spec
from archc.torch.lower import lower

WIDTHS = ("1", "0.75", "0.5", "0.25", "0.125")
INPUTS = ("3x512x512", "3x448x448", "3x384x384", "3x320x320", "3x256x256")
CLASSES = (1, 2, 19, 21)


def variants(n):
    grid = itertools.product(WIDTHS, INPUTS, CLASSES)
    return list(itertools.islice(grid, n))


def main(n: int) -> None:
    analytic, reference = [], []
    for width, size, classes in variants(n):
        spec = compile_spec("specs/fastscnn.yaml", [f"width={width}"], size, {"classes": classes}).spec
        t0 = time.perf_counter()
        r = analyze(build(spec))
        t1 = time.perf_counter()
        graph = build(spec)
        stats = torchinfo.summary(lower(graph), input_size=(1, *graph.input_shape), verbose=0)
        t2 = time.perf_counter()
        assert (r.params, r.macs, r.activation_bytes) == (
            stats.total_params, stats.total_mult_adds, stats.total_output_bytes), (width, size, classes)
        analytic.append(t1 - t0)
        reference.append(t2 - t1)
    a, b = statistics.median(analytic), statistics.median(reference)
    print(f"{len(analytic)} Fast-SCNN variants, all totals equal to torchinfo's")
    print(f"analytic  median {a * 1e3:8.2f} ms   total {sum(analytic):7.2f} s")
    print(f"torchinfo median {b * 1e3:8.2f} ms   total {sum(reference):7.2f} s")
    print(f"ratio (torchinfo / analytic, medians): {b / a:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100)
    main(parser.parse_args().variants)
