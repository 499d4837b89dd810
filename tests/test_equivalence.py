"""Output equivalence: archc's compiled Fast-SCNN computes what the hand-written one
(benchmarks/fastscnn_handwritten.py, written from the thesis's description) computes.
Random weights are copied layer by layer (call order and shape), the same input goes
through both, and the outputs agree within 1e-5 -- for every value of every thesis knob:
width a, expansion t, repeats r, PPM on/off, input size and channels. A wiring bug (a
residual lost, branches concatenated in another order, a reader rewired) changes the
output even where params, MACs and shapes stay the same."""
from __future__ import annotations

import itertools

import pytest
import torch
from fastscnn_handwritten import FastSCNN  # benchmarks/: the one hand-written Fast-SCNN
from weightcopy import copy_by_order, randomize

from archc.compile import compile_spec
from archc.torch.lower import lower


def max_difference(a, t, r, pp, chw, strict=True) -> tuple:
    """(max |archc - reference|, max |reference|, layers copied) for one knob setting."""
    size = "x".join(map(str, chw)) + ("" if strict else ",strict=false")
    passes = [f"width={a}", f"expand={t}", f"repeat={r}"] + ([] if pp else ["drop=ppm"]) + [f"input={size}"]
    compiled = randomize(lower(compile_spec("specs/fastscnn.yaml", passes).graph), seed=7).eval()
    reference = FastSCNN(1, a, chw[1], t, r, bool(pp), chw[0]).eval()
    x = torch.randn(1, *chw, generator=torch.Generator().manual_seed(3))
    n = copy_by_order(compiled, reference, x)
    with torch.no_grad():
        mine, ref = compiled(x), reference(x)
    assert mine.shape == ref.shape
    return (mine - ref).abs().max().item(), ref.abs().max().item(), n


GRID = [  # a, t, r, pp, input: every value of every knob at least once (7 input sizes, RGB and Y)
    (1, 6, 3, 1, (3, 512, 512)), (0.75, 4, 2, 1, (1, 256, 256)), (0.5, 2, 1, 0, (3, 224, 224)),
    (0.25, 6, 2, 0, (3, 192, 192)), (0.125, 4, 3, 0, (1, 160, 160)), (0.5, 6, 1, 0, (3, 128, 128)),
    (0.25, 2, 3, 0, (3, 96, 96)), (0.75, 6, 3, 0, (3, 160, 224)),
]


@pytest.mark.parametrize("a, t, r, pp, chw", GRID)
def test_outputs_equal_the_handwritten_model(a, t, r, pp, chw):
    diff, scale, layers = max_difference(a, t, r, pp, chw)
    assert scale > 0.01 and layers > 20  # a real signal through a real network
    assert diff <= 1e-5, (a, t, r, pp, chw, diff)


def test_overfull_pooling_bins_equal_torchs_overlapping_windows():
    """strict=false: at 224 the PPM's 8 bins exceed the 7x7 map; both sides pool overlapping windows."""
    diff, _, _ = max_difference(0.125, 2, 1, 1, (3, 224, 224), strict=False)
    assert diff <= 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("a", [1, 0.75, 0.5, 0.25, 0.125])
def test_every_knob_combination_equals_the_handwritten_model(a):
    for t, r, pp in itertools.product((6, 4, 2), (3, 2, 1), (1, 0)):
        diff, _, _ = max_difference(a, t, r, pp, (3, 256, 256) if pp else (1, 96, 96))
        assert diff <= 1e-5, (a, t, r, pp, diff)
