"""Fresh analysis of Fast-SCNN variants: load + passes + build + analyze per configuration,
nothing shared between variants but the parsed spec file (keyed by its text).

    PYTHONPATH=. python benchmarks/analysis_speed.py [--variants 100] [--torchinfo 10]

For each variant (width x input x classes) it times `compile_spec(...).report` -- what
`archc summary` does -- twice: with the content-keyed parse cache (the file is unchanged
between variants, so its YAML is parsed once) and with that cache cleared first (every
variant parses the file too). A sample is also lowered and run through torchinfo, timed,
and its totals checked against the analytic ones.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import time

from archc.compile import compile_spec
from archc.lang import spec as spec_module

WIDTHS = ("1", "0.75", "0.5", "0.25", "0.125")
INPUTS = ("3x512x512", "3x448x448", "3x384x384", "3x320x320", "3x256x256")
CLASSES = (1, 2, 19, 21)


def variants(n):
    return list(itertools.islice(itertools.product(WIDTHS, INPUTS, CLASSES), n))


def fresh(width, size, classes, parse: bool):
    if parse and hasattr(spec_module, "_document"):  # (an archc before the parse cache has none)
        spec_module._document.cache_clear()  # nothing at all kept from the variant before
    start = time.perf_counter()
    report = compile_spec("specs/fastscnn.yaml", [f"width={width}"], size, {"classes": classes}).report
    return time.perf_counter() - start, report


def torchinfo_time(width, size, classes, report) -> float:
    import torchinfo

    from archc.torch.lower import lower

    start = time.perf_counter()
    graph = compile_spec("specs/fastscnn.yaml", [f"width={width}"], size, {"classes": classes}).graph
    stats = torchinfo.summary(lower(graph), input_size=(1, *graph.input_shape), verbose=0)
    seconds = time.perf_counter() - start
    assert (report.params, report.macs, report.activation_bytes) == (
        stats.total_params, stats.total_mult_adds, stats.total_output_bytes), (width, size, classes)
    return seconds


def main(n: int, sample: int) -> None:
    cached, parsed, reference = [], [], []
    for i, v in enumerate(variants(n)):
        parsed.append(fresh(*v, parse=True)[0])
        seconds, report = fresh(*v, parse=False)
        cached.append(seconds)
        if i < sample:
            reference.append(torchinfo_time(*v, report))
    a, b = statistics.median(cached), statistics.median(parsed)
    print(f"{n} Fast-SCNN variants, fresh compile (load + width + input passes + build + analyze) each")
    print(f"  spec text parsed once : median {a * 1e3:7.2f} ms   total {sum(cached):6.2f} s")
    print(f"  parsed every variant  : median {b * 1e3:7.2f} ms   total {sum(parsed):6.2f} s")
    if reference:
        r = statistics.median(reference)
        print(f"  torchinfo ({len(reference)} of them, totals equal): median {r * 1e3:7.2f} ms -> {r / a:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--torchinfo", type=int, default=10, help="variants also timed with torchinfo")
    args = parser.parse_args()
    main(args.variants, args.torchinfo)
