"""archc's passes against an independent Fast-SCNN (benchmarks/fastscnn_handwritten.py):
every combination of the thesis's knobs a, t, r, pp and input gives the same
params, MACs and activation bytes (torchinfo) and output shape. With pp=0 the
reference does not build the PPM, and neither does `drop=ppm`."""
from __future__ import annotations

import itertools

import pytest
import torch
from crosscheck import torchinfo_figures
from fastscnn_handwritten import FastSCNN  # benchmarks/: the one hand-written Fast-SCNN

from archc.compile import compile_spec


def passes(a, t, r, pp, chw):
    return ([f"width={a}", f"expand={t}", f"repeat={r}"] + ([] if pp else ["drop=ppm"])
            + [f"input={'x'.join(map(str, chw))}"])


def reference(a, t, r, pp, chw):
    import torchinfo

    model = FastSCNN(1, a, chw[1], t, r, bool(pp), chw[0]).eval()
    s = torchinfo.summary(model, input_size=(1, *chw), verbose=0, device="cpu")
    with torch.no_grad():
        out = tuple(model(torch.zeros(1, *chw)).shape[1:])
    return (s.total_params, s.total_mult_adds, s.total_output_bytes), out


def check(a, t, r, pp, chw):
    c = compile_spec("specs/fastscnn.yaml", passes(a, t, r, pp, chw))
    mine = (c.report.params, c.report.macs, c.report.activation_bytes)
    ref, out = reference(a, t, r, pp, chw)
    assert mine == ref, (a, t, r, pp, chw)
    assert mine == torchinfo_figures(c.graph)
    assert c.report.outputs == (out,)


FAST_GRID = [  # a, t, r, pp, input: every knob value at least once, cheap inputs
    (1, 6, 3, 1, (3, 256, 256)), (0.75, 4, 2, 1, (1, 256, 256)), (0.5, 2, 1, 0, (3, 128, 128)),
    (0.25, 6, 1, 0, (1, 96, 96)), (0.125, 2, 3, 1, (3, 256, 256)), (0.125, 2, 1, 0, (3, 96, 96)),
    (0.5, 4, 3, 0, (3, 160, 224)), (0.75, 6, 2, 0, (3, 192, 192)),
]


@pytest.mark.parametrize("a, t, r, pp, chw", FAST_GRID)
def test_knobs_equal_the_reference(a, t, r, pp, chw):
    check(a, t, r, pp, chw)


def test_thesis_baseline_and_published_figures():
    """Zema 2022 (github.com/xolotl18/master_thesis): a=1 1,122,673 params, 830.67 M MACs, 209.9 MB; a=0.125 25,367 params, 23.69 M MACs."""
    ref, _ = reference(1, 6, 3, 1, (3, 512, 512))
    assert ref == (1_122_673, 830_667_136, 209_900_800)
    c = compile_spec("specs/fastscnn.yaml", [])
    assert (c.report.params, c.report.macs, c.report.activation_bytes) == ref
    check(0.125, 6, 3, 1, (3, 512, 512))


@pytest.mark.slow
@pytest.mark.parametrize("a", [1, 0.75, 0.5, 0.25, 0.125])
def test_full_grid_equals_the_reference(a):
    for t, r, pp in itertools.product((6, 4, 2), (3, 2, 1), (1, 0)):
        check(a, t, r, pp, (3, 256, 256) if pp else (1, 96, 96))  # 256: the PPM's 8 bins on an 8x8 map
