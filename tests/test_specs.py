"""Every spec in specs/: it validates, cites its sources, gives its pinned numbers, counts exactly
as torchinfo does on the lowered module, infers the shapes torch computes, and exports to ONNX
that runs in ONNX Runtime like PyTorch."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from archc.compile import compile_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
IDS = [p.stem for p in SPECS]

# spec -> (params, MACs) at its default input and class count (torchinfo 1.8 semantics)
PINNED = {
    "fastscnn": (1_122_673, 830_667_136),
    "mobilenetv2": (3_504_872, 300_809_384),
    "mobilenetv3_large": (5_483_032, 216_621_520),
    "mobilenetv3_small": (2_542_856, 56_527_424),
    "deeplabv3plus_mobilenetv2": (5_225_717, 2_625_033_824),
    "deeplabv3plus_mobilenetv3_large": (11_138_085, 1_122_461_592),
    "deeplabv3plus_mobilenetv3_small": (6_241_557, 827_689_224),
    "erfnet": (2_066_836, 29_982_628_288),
    "essnetb": (572_928, 12_852_926_912),
    "bisenetv2": (3_358_627, 24_603_485_104),
    "shufflenetv2": (2_278_604, 144_925_172),
    "enet": (364_311, 2_246_192_976),
    "pidnet_s": (7_625_715, 11_804_016_320),
    "mobilenetv4_conv_small": (3_774_024, 186_031_656),
    "mobilenetv4_conv_medium": (9_715_512, 1_080_313_128),
    "lraspp_mobilenetv3_large": (3_221_538, 379_343_976),
    "essneta": (771_968, 19_375_069_632),
    "segformer_b0": (3_752_694, 5_472_290_304),
    "mobilevit_xxs": (1_272_024, 195_991_416),
    "mobilevit_s": (5_578_632, 1_095_921_816),
    "fpn_resnet18": (13_066_454, 18_077_101_184),
    "unet_resnet18": (14_349_814, 27_256_171_840),
    "pspnet_resnet50": (30_495_446, 111_143_436_672),
    "segnet": (29_449_355, 104_210_995_712),
    "ddrnet23_slim": (5_695_987, 36_302_933_376),
    "efficientvit_b0": (3_410_008, 98_172_376),
    "unet": (31_030_658, 167_456_910_112),
}

# spec -> what its source publishes, at the source's precision, and how far apart counting methods may
# put us: (params in M, MACs in M or None, relative tolerance, source). Not our own figures copied.
PUBLISHED = {
    "fastscnn": (1.122673, 830.67, 5e-7, "Zema 2022, torchinfo at 3x512x512: 1,122,673 params, 830.67 M MACs"),
    "mobilenetv2": (3.4, 300, 0.04, "Sandler et al. 2018, Table 4: 3.4 M params, 300 M MAdds"),
    "mobilenetv3_large": (5.4, 219, 0.02, "Howard et al. 2019, Table 3: 5.4 M params, 219 M MAdds"),
    "mobilenetv3_small": (2.5, 56, 0.02, "Howard et al. 2019, Table 4: 2.5 M params, 56 M MAdds"),
    "deeplabv3plus_mobilenetv2": (5.23, None, 0.001, "the student reports (ptflops): 5.23 M params"),
    "deeplabv3plus_mobilenetv3_small": (6.24, None, 0.001, "the student reports (ptflops): 6.24 M params"),
    "bisenetv2": (3.4, None, 0.015, "Yu et al. 2021: 3.4 M params (CoinCheung's code, inference mode)"),
    "erfnet": (2.066836, None, 5e-7, "Romera et al.'s code (ERFNet, 20 classes): 2,066,836 params"),
    "shufflenetv2": (2.278604, 144.925172, 5e-7, "torchvision 0.29 + torchinfo 1.8, ShuffleNet V2 x1.0 at 224x224"),
    "enet": (0.37, None, 0.02, "Paszke et al. 2016, Table 3: 0.37 M params"),
    "pidnet_s": (7.625715, 11804.01632, 5e-7, "the authors' code (XuJiacong/PIDNet) + torchinfo 1.8 at 3x512x1024"),
    "segformer_b0": (3.8, None, 0.02, "Xie et al. 2021, Table 1: SegFormer-B0 3.8 M params (3.4 encoder + 0.4 decoder)"),
    "mobilevit_xxs": (1.3, None, 0.025, "Mehta & Rastegari 2022 (ICLR), ImageNet results: MobileViT-XXS 1.3 M params"),
    "mobilevit_s": (5.6, None, 0.01, "Mehta & Rastegari 2022 (ICLR), ImageNet results: MobileViT-S 5.6 M params"),
    "fpn_resnet18": (13.066454, 18077.101184, 5e-7, "smp 0.6 FPN(encoder_name='resnet18') + torchinfo 1.8"),
    "unet_resnet18": (14.349814, 27256.17184, 5e-7, "smp 0.6 Unet(encoder_name='resnet18') + torchinfo 1.8"),
    "pspnet_resnet50": (30.495446, 111143.436672, 5e-7, "smp 0.6 PSPNet(encoder_name='resnet50', encoder_depth=5, "
                        "output_stride=8, classes=150) + torchinfo 1.8 (benchmarks/smp_cnns.md)"),
    "segnet": (29.46, None, 0.001, "Paszke et al. 2016 (ENet), Table 3: SegNet 29.46 M params"),
    "efficientvit_b0": (3.410008, 98.172376, 5e-7, "timm 1.0.31 efficientvit_b0 + torchinfo 1.8 at 224x224"),
    "ddrnet23_slim": (5.7, 36300, 0.002, "Hong et al. 2021: DDRNet-23-slim 5.7 M, 36.3 GFLOPs at 1024x2048"),
}
# the header quotes the figure this spec gives, except where it quotes a source it does not match
HEADER_QUOTES_OTHERS = {"essnetb": "quotes the thesis's ESSNetB-D (683,568 params); examples/essnet_grouping.py "
                                   "compares"}


@lru_cache(maxsize=None)
def compiled(name: str):
    return compile_spec(ROOT / "specs" / f"{name}.yaml")


def example_input(name: str):
    import torch

    torch.manual_seed(0)
    return torch.randn(1, *compiled(name).graph.input_shape)


def test_every_spec_is_pinned():
    assert sorted(PINNED) == sorted(IDS)


@pytest.mark.parametrize("name", IDS)
def test_validate_is_clean(name):
    from typer.testing import CliRunner

    from archc.cli import app

    result = CliRunner().invoke(app, ["validate", str(ROOT / "specs" / f"{name}.yaml")])
    assert result.exit_code == 0, result.output
    assert ": ok (" in result.output


@pytest.mark.parametrize("name", IDS)
def test_header_cites_its_numbers_and_classes_is_a_variable(name):
    spec = compiled(name).spec
    assert spec.header.startswith("# ") and len(spec.header.splitlines()) >= 3
    params = compiled(name).report.params
    if name not in HEADER_QUOTES_OTHERS:  # its own figure, exactly or as published (5.23 M)
        assert any(t in spec.header for t in (f"{params:,}", f"{params / 1e6:.2f} M", f"{params / 1e6:.1f} M"))
    assert "classes" in spec.vars


@pytest.mark.parametrize("name", IDS)
def test_pinned_numbers(name):
    report = compiled(name).report
    assert (report.params, report.macs) == PINNED[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_numbers(name):
    report = compiled(name).report
    params, macs, tol, source = PUBLISHED[name]
    assert abs(report.params / 1e6 - params) <= tol * params, (report.params, source)
    if macs is not None:
        assert abs(report.macs / 1e6 - macs) <= max(tol * macs, 0.005), (report.macs, source)


# IR shapes and torchinfo totals of every spec: tests/test_core.py::test_every_spec_agrees_with_torch_and_torchinfo


# ONNX Runtime against torch for every spec: tests/test_onnx_specs_1.py and _2.py (two files, so that
# --dist loadfile spreads them over both workers).


def test_essnet_role_pointwise_selects_exactly_the_d_layers_1x1_convs():
    graph = compiled("essnetb").graph
    pointwise = [n for n in graph if n.op == "conv" and "pointwise" in n.roles]
    assert len(pointwise) == 2 * 13  # two per D layer: 5 at 64 channels, 8 at 128
    assert all(n.block == "ess_d" and n.attrs["k"] == 1 for n in pointwise)
    d_convs = [n for n in graph if n.op == "conv" and n.block == "ess_d" and n.attrs["k"] == 1]
    assert d_convs == pointwise


@pytest.mark.parametrize("groups,shuffle,params", [(2, False, 421_376), (4, True, 345_600), (8, True, 307_712)])
def test_essnet_grouped_variants(groups, shuffle, params):
    c = compile_spec(ROOT / "specs" / "essnetb.yaml", variables={"groups": groups, "shuffle": shuffle})
    assert c.report.params == params
    assert c.report.params == PINNED["essnetb"][0] - 303_104 + 303_104 // groups  # the 1x1 weights shrink by g
    shuffles = [n for n in c.graph if n.op == "shuffle"]
    assert len(shuffles) == (26 if shuffle else 0)


def test_erfnet_with_20_classes_has_the_authors_count():
    c = compile_spec(ROOT / "specs" / "erfnet.yaml", variables={"classes": 20})
    assert c.report.params == 2_066_836
    assert [c.graph.shape(o) for o in c.graph.outputs] == [(20, 512, 1024), (20, 64, 128)]


@pytest.mark.parametrize("groups,shuffle", [(2, False), (4, True), (8, True)])
def test_essneta_groups_only_its_late_d_layers(groups, shuffle):
    c = compile_spec(ROOT / "specs" / "essneta.yaml", variables={"groups": groups, "shuffle": shuffle})
    assert c.report.params == PINNED["essneta"][0] - 262_144 + 262_144 // groups  # 8 D layers x 2 x 128²
    assert {n.block for n in c.graph if n.name.startswith("encoder.2.")} == {"non_bt_1d"}  # early: ERFNet's
    assert len([n for n in c.graph if n.op == "shuffle"]) == (16 if shuffle else 0)


def test_the_theses_essnet_rows_group_essnetbs_d_layers_not_essnetas():
    """The thesis's ESSNet-D / DG2 / DG4 (431,312 / 279,760 / 203,984 params) save 151,552 and 75,776
    by grouping: exactly what grouping ESSNetB's 13 D layers saves; ESSNetA's 8 save less."""
    thesis = [431_312, 279_760, 203_984]

    def savings(name):
        p = [compile_spec(ROOT / "specs" / f"{name}.yaml", variables={"groups": g}).report.params for g in (1, 2, 4)]
        return [p[0] - p[1], p[1] - p[2]]

    assert savings("essnetb") == [thesis[0] - thesis[1], thesis[1] - thesis[2]] == [151_552, 75_776]
    assert savings("essneta") == [131_072, 65_536]
