"""early_downsample's mode=pool on every shipped segmentation spec: the input pooled before the first
layer, the outputs upsampled back to their size, fewer MACs; trained weights carry through it."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from archc.compile import compile_spec
from archc.errors import PassError
from archc.ir.graph import Graph
from archc.lang.emit import emit

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
FIRST = {"pidnet_s": lambda k: [f"input=3x{512 << k}x{1024 << k}"],  # its total stride 512, doubled k times
         "ddrnet23_slim": lambda k: [f"input=3x{1024 << k}x{2048 << k}"],
         "segnet": lambda k: [f"input=3x{352 << k}x{480 << k}"]}  # 352 = 11 x 32


def _segmentation(path: Path) -> bool:
    graph = compile_spec(path).graph
    return all(len(graph.shape(o)) == 3 and graph.shape(o)[1] > 1 for o in graph.outputs)


UNPADDED = {"unet"}  # its output is its input less a fixed margin (572 -> 388): no pooling keeps its size
SEGMENTATION = [p for p in SPECS if p.stem not in UNPADDED and _segmentation(p)]


def test_the_shipped_segmentation_specs_are_all_covered():
    names = {p.stem for p in SEGMENTATION}
    assert {"fastscnn", "erfnet", "essnetb", "enet", "bisenetv2", "pidnet_s", "deeplabv3plus_mobilenetv2",
            "deeplabv3plus_mobilenetv3_large", "deeplabv3plus_mobilenetv3_small"} <= names


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("path", SEGMENTATION, ids=lambda p: p.stem)
def test_pool_mode_keeps_the_output_size_and_cuts_macs(path, k):
    first = FIRST[path.stem](k) if path.stem in FIRST else []
    base = compile_spec(path, first)
    c = compile_spec(path, [*first, f"early_downsample={k},mode=pool"])
    assert [c.graph.shape(o) for o in c.graph.outputs] == [base.graph.shape(o) for o in base.graph.outputs]
    assert c.report.params == base.report.params and c.report.macs < base.report.macs
    assert c.graph["early_downsample.0.0"].shape[1:] == tuple(d // 2**k for d in base.graph.input_shape[1:])
    assert any(f"MACs {base.report.macs:,} -> {c.report.macs:,}" in n for n in c.notes)
    written = emit(c.spec, "round trip")  # the spec it writes builds the same graph
    assert compile_spec("written.yaml", text=written).graph.signature() == c.graph.signature()


@pytest.mark.parametrize("first", [[], ["input=1x1148x1148"]])
def test_an_unpadded_network_is_refused_in_one_line(first):
    """U-Net's valid sizes are 188 + 16k; pooled by 2 they are 94 + 8k, never one of them, so some pooling
    sees an odd map and mode=pool is refused in one line."""
    with pytest.raises(PassError, match="'early_downsample=1,mode=pool'.*: mode=pool breaks the network: .*"
                                        "sees a .* map that 2 does not divide") as caught:
        compile_spec(ROOT / "specs/unet.yaml", [*first, "early_downsample=1,mode=pool"])
    assert "\n" not in str(caught.value)


def test_fastscnn_upsamples_16_times_instead_of_8():
    c = compile_spec(ROOT / "specs/fastscnn.yaml", ["early_downsample=1,mode=pool"])
    assert [r.fields.get("scale") for r in c.spec.stages[-1].rows if r.op == "resize"] == [16]
    assert c.report.macs == 207_945_088  # from 830,667,136: every layer at a quarter of the pixels


def test_an_output_without_a_closing_resize_gets_one():
    c = compile_spec(ROOT / "specs/erfnet.yaml", ["early_downsample=1,mode=pool"])
    assert c.spec.outputs == ("decoder_up", "encoder_head_up")  # both outputs, the auxiliary one too
    assert [c.graph.shape(o) for o in c.graph.outputs] == [(20, 512, 1024), (20, 64, 128)]


@pytest.mark.parametrize("name", ["fastscnn", "erfnet"])
def test_applied_twice_it_pools_more_as_k_2_does(name):
    twice = compile_spec(ROOT / f"specs/{name}.yaml", ["early_downsample=1,mode=pool"] * 2)
    once = compile_spec(ROOT / f"specs/{name}.yaml", ["early_downsample=2,mode=pool"])
    assert twice.graph.signature() == once.graph.signature()


def test_refused_in_one_line_where_the_size_cannot_be_kept():
    with pytest.raises(PassError) as err:
        compile_spec(ROOT / "specs/pidnet_s.yaml", ["early_downsample=1,mode=pool"])
    msg = err.value.message
    assert "\n" not in msg and "total stride 1024" in msg and "--pass input=CxHxW" in msg
    with pytest.raises(PassError, match=r"mode='poll' must be one of move, pool; did you mean 'pool'"):
        compile_spec(ROOT / "specs/fastscnn.yaml", ["early_downsample=1,mode=poll"])


def test_the_stride_mode_points_at_pool_where_it_cannot_move():
    with pytest.raises(PassError, match=r"mode=pool downsamples the input instead"):
        compile_spec(ROOT / "specs/fastscnn.yaml", ["early_downsample=1"])


def _lower(graph: Graph, state: dict):
    from archc.torch.lower import lower

    module = lower(graph)
    module.load_state_dict(state)
    return module.eval()


@pytest.mark.parametrize("name", ["enet", "essnetb"])
def test_weights_carry_and_the_network_is_the_original_on_a_pooled_image(name):
    """The pooled network with the original's weights = the original network on the 2x2-averaged image,
    upsampled x2 (bilinear) after: ESSNet-B's and ENet's outputs end in a transposed conv."""
    from archc.torch.carry import carry
    from archc.torch.weights import lower_seeded

    a = compile_spec(ROOT / f"specs/{name}.yaml", input="3x64x64").graph
    b = compile_spec(ROOT / f"specs/{name}.yaml", ["early_downsample=1,mode=pool"], input="3x64x64").graph
    small = compile_spec(ROOT / f"specs/{name}.yaml", input="3x32x32").graph
    original = lower_seeded(a, 0).eval()
    carried = carry(a, original.state_dict(), b)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = _lower(b, carried.state)(x)
        want = F.interpolate(_lower(small, original.state_dict())(F.avg_pool2d(x, 2)), scale_factor=2,
                             mode="bilinear", align_corners=False)
    assert carried.kept_norm == 1.0 and float((got - want).abs().max()) < 1e-5
