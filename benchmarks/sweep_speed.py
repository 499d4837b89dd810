"""The thesis's knob grid, swept without profiling, against torchinfo per configuration.

    python benchmarks/sweep_speed.py [--torchinfo-sample N]

Grid (the knobs of Zema 2022, github.com/xolotl18/master_thesis): width {1, .75, .5, .25, .125} x expand {6, 4, 2} x repeat {3, 2, 1}
x drop PPM or not x input {512, 256, 224, 192, 160, 128, 96} = 630 configurations.
Times `archc sweep` (all cores, no cache), then lowers every valid configuration (or a
sample of N) and runs torchinfo on it, checking the totals are equal.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time

GRID = {"width": ["1", "0.75", "0.5", "0.25", "0.125"], "expand": ["6", "4", "2"], "repeat": ["3", "2", "1"],
        "drop": ["none", "ppm"], "input": [f"3x{s}x{s}" for s in (512, 256, 224, 192, 160, 128, 96)]}


def main(sample: int) -> None:
    import torchinfo

    from archc.compile import compile_spec
    from archc.torch.lower import lower
    from archc.tools.sweep import Sweep, passes_of

    start = time.perf_counter()
    results = Sweep("specs/fastscnn.yaml", GRID).run()
    sweep_s = time.perf_counter() - start
    ok = [r for r in results if r.status == "ok"]
    skipped = [r for r in results if r.status != "ok"]
    print(f"sweep: {len(results)} configurations in {sweep_s:.2f} s on {os.cpu_count()} cores: "
          f"{len(ok)} valid, {len(skipped)} skipped")
    reasons = {}
    for r in skipped:
        reasons.setdefault(r.reason.split("): ")[-1].split(";")[0], 0)
        reasons[r.reason.split("): ")[-1].split(";")[0]] += 1
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  skipped {n}: {reason}")
    chosen = ok if sample <= 0 or sample >= len(ok) else random.Random(0).sample(ok, sample)
    times = []
    for r in chosen:
        t0 = time.perf_counter()
        graph = compile_spec("specs/fastscnn.yaml", passes_of(r.knobs)).graph
        stats = torchinfo.summary(lower(graph), input_size=(1, *graph.input_shape), verbose=0)
        times.append(time.perf_counter() - t0)
        assert (stats.total_params, stats.total_mult_adds, stats.total_output_bytes) == (
            r.params, r.macs, r.activation_bytes), r.config
    per_config = statistics.mean(times)
    print(f"torchinfo: {len(chosen)} configurations, all totals equal; mean {per_config * 1e3:.1f} ms, "
          f"median {statistics.median(times) * 1e3:.1f} ms per configuration")
    print(f"torchinfo for all {len(ok)} valid configurations (one process): "
          f"{per_config * len(ok):.1f} s -> sweep speed-up {per_config * len(ok) / sweep_s:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torchinfo-sample", type=int, default=0, help="0: every valid configuration")
    main(parser.parse_args().torchinfo_sample)
