"""Trained weights through width, repeat and drop (archc/torch/carry.py). The invariant: the shrunk
model computes exactly what the original computes with the removed channels forced to zero (in
every tensor), for every shipped spec, ESSNet with grouped 1x1 convs and shuffles included."""
from __future__ import annotations

import json

import pytest
import torch
import torch.fx as fx
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec
from archc.torch.carry import carry
from archc.torch.weightmap import WeightsError
from archc.torch.weights import lower_seeded, lowered
from conftest import SPECS

SIZES = {"erfnet": "3x32x64", "essnetb": "3x32x64", "essneta": "3x32x64", "fastscnn": "3x128x128",
         "pidnet_s": "3x512x512", "ddrnet23_slim": "3x512x512", "unet": "1x188x188"}  # else 3x64x64
# MobileNetV3-Small at width 0.5: a 40 -> 48 block becomes 24 -> 24 and gains a residual, so 0.75


class Masked(fx.Interpreter):
    """The original module with every removed channel forced to zero after each op."""

    def __init__(self, module, kept: dict, sizes: dict):
        super().__init__(module)
        self.kept, self.sizes = kept, sizes

    def run_node(self, n):
        out = super().run_node(n)
        name = n.meta.get("archc")
        if (isinstance(out, torch.Tensor) and out.is_floating_point() and name in self.kept  # not a pool's indices
                and out.dim() >= 2 and out.shape[1] == self.sizes[name]):
            mask = torch.zeros(out.shape[1])
            mask[self.kept[name]] = 1
            out = out * mask.view(1, -1, *([1] * (out.dim() - 2)))
        return out


def _tuple(y):
    return y if isinstance(y, tuple) else (y,)


def invariant(spec, passes, size, base=(), variables=None) -> float:
    """max |shrunk - masked original| / max(1, |output|); and the carry's norm fraction."""
    a = compile_spec(spec, list(base), input=size, variables=variables).graph
    b = compile_spec(spec, list(base) + passes, input=size, variables=variables).graph
    original = lower_seeded(a, 1)
    carried = carry(a, original.state_dict(), b)
    x = torch.randn(2, *a.input_shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = _tuple(Masked(original, carried.kept, {n.name: n.shape[0] for n in a if n.shape}).run(x))
        got = _tuple(lowered(b, carried.state)(x))
    scale = max(1.0, max(float(w.abs().max()) for w in want))
    return max(float((g - w).abs().max()) for g, w in zip(got, want, strict=True)) / scale, carried.kept_norm


UNCARRIED = ("enet", "shufflenetv2", "efficientvit_b0")  # channel slices of maps or heads, padding, PReLU: no rule yet
# layernorm: its statistics change with C (tests/test_segformer.py and tests/test_mobilevit.py check their carry)
NOT_EXACT = ("segformer_b0", "mobilevit_s", "mobilevit_xxs",
             "fpn_resnet18")  # groupnorm: likewise, per group (tests/test_smp_cnns.py checks its carry)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.stem not in UNCARRIED + NOT_EXACT], ids=lambda p: p.stem)
def test_width_keeps_what_the_original_computes_on_the_kept_channels(spec):
    width = 0.75 if "mobilenetv3_small" in spec.stem else 0.5
    diff, kept = invariant(spec, [f"width={width}"], SIZES.get(spec.stem, "3x64x64"))
    assert diff < 1e-5 and 0.2 < kept < 1


@pytest.mark.parametrize("name", UNCARRIED)
def test_a_width_through_ops_without_a_channel_rule_is_refused(name):
    a = compile_spec(f"specs/{name}.yaml", input="3x64x64").graph
    b = compile_spec(f"specs/{name}.yaml", ["width=0.5"], input="3x64x64").graph
    with pytest.raises(WeightsError, match="is not supported yet"):
        carry(a, lower_seeded(a).state_dict(), b)


def test_width_through_grouped_convs_and_shuffles():
    diff, kept = invariant("specs/essnetb.yaml", ["width=0.5"], "3x32x64", variables={"groups": 4, "shuffle": True})
    assert diff < 1e-5 and 0.2 < kept < 1


def test_a_width_that_changes_the_structure_is_refused():
    a = compile_spec("specs/mobilenetv3_small.yaml", input="3x64x64").graph
    b = compile_spec("specs/mobilenetv3_small.yaml", ["width=0.5"], input="3x64x64").graph
    with pytest.raises(WeightsError, match="features.7.0.residual"):
        carry(a, lower_seeded(a).state_dict(), b)


@pytest.mark.parametrize("spec,passes", [("mobilenetv2", ["repeat=1"]), ("fastscnn", ["drop=ppm"]),
                                         ("fastscnn", ["repeat=2", "drop=ppm"]),
                                         ("enet", ["repeat=1"])])  # PReLU slopes carried too
def test_repeat_and_drop_keep_the_surviving_weights(spec, passes):
    a = compile_spec(f"specs/{spec}.yaml", input="3x128x128").graph
    b = compile_spec(f"specs/{spec}.yaml", passes, input="3x128x128").graph
    state = lower_seeded(a, 1).state_dict()
    carried = carry(a, state, b).state
    assert set(carried) == set(lower_seeded(b).state_dict()) and len(carried) < len(state)
    assert all(torch.equal(v, state[k]) for k, v in carried.items())  # the first repeats, unchanged


def test_cli_carries_weights_through_width(tmp_path):
    spec = "specs/mobilenetv3_small.yaml"
    torch.save(lower_seeded(compile_spec(spec).graph, 1).state_dict(), tmp_path / "w.pt")
    result = CliRunner().invoke(app, ["summary", spec, "--pass", "width=0.75", "--input", "3x64x64",
                                      "--weights", str(tmp_path / "w.pt"), "--json"])
    assert result.exit_code == 0, result.output
    w = json.loads(result.stdout)["weights"]
    assert w["how"] == {"map": 0, "name": 210} and 0.5 < w["carried"]["kept_norm"] < 1


def test_what_carrying_needs_of_an_op_is_in_its_registry_entry():
    """archc/torch/ names no op of the registry (op knowledge lives in archc/ops/), every op with weights
    says how they index channels or is refused through a width change, and an op without a `carry`
    entry (the default) is refused, not guessed."""
    import re
    from pathlib import Path

    from archc.ops import OPS
    from archc.ops.carry import LAYOUTS, UNKNOWN
    from archc.ops.core import _no_weights

    for name in ("carry.py", "channels.py"):
        text = (Path(__file__).resolve().parent.parent / "archc" / "torch" / name).read_text()
        named = {op for op in OPS if re.search(rf"[\"']{op}[\"']", text)}
        assert not named, f"archc/torch/{name} names ops {named}: put what it needs in their registry entries"
    for name, op in OPS.items():
        if op.count is not _no_weights:
            assert op.carry.weights in LAYOUTS or not op.carry.known, name
    assert OPS["pad"].carry == UNKNOWN and not UNKNOWN.known
