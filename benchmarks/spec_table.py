"""The table of every shipped spec in docs/specs.md: archc's params / MACs / activation bytes against the
reference implementation's figures, and the output difference where weights could be copied into an
independent model (tests/refnets/). Run from the repository root: python benchmarks/spec_table.py"""
from __future__ import annotations

import sys

sys.path[:0] = [".", "tests"]

from libcheck import max_difference  # noqa: E402

from archc.compile import compile_spec  # noqa: E402
from archc.lang.library import bundled  # noqa: E402

# name -> (params, MACs, activation bytes, source); None where the source gives no figure
REFERENCE = {
    "fastscnn": (1_122_673, 830_670_000, 209_900_000, "thesis (torchinfo; MACs 830.67 M, 209.9 MB)"),
    "mobilenetv2": (3_504_872, 300_810_000, None, "torchvision + torchinfo (300.81 M)"),
    "mobilenetv3_large": (5_483_032, 216_620_000, None, "torchvision + torchinfo (216.62 M)"),
    "mobilenetv3_small": (2_542_856, 56_530_000, None, "torchvision + torchinfo (56.53 M)"),
    "deeplabv3plus_mobilenetv2": (5_230_000, None, None, "student report (ptflops, 5.23 M)"),
    "deeplabv3plus_mobilenetv3_large": (11_400_000, None, None, "student report (ptflops, 11.4 M)"),
    "deeplabv3plus_mobilenetv3_small": (6_240_000, None, None, "student report (ptflops, 6.24 M)"),
    "erfnet": (2_066_836, None, None, "the authors' PyTorch code (torchinfo)"),
    "bisenetv2": (3_400_000, None, None, "paper (3.4 M)"),
    "shufflenetv2": (2_278_604, 144_925_172, 31_211_200, "torchvision 0.29 + torchinfo 1.8 (x1.0)"),
    "enet": (364_311, 2_246_192_976, 705_167_360, "tests/refnets/enet.py + torchinfo 1.8 (paper: 0.37 M)"),
    "pidnet_s": (7_625_715, 11_804_016_320, 526_070_016, "the authors' code (XuJiacong/PIDNet) + torchinfo 1.8"),
    "mobilenetv4_conv_small": (3_774_024, 186_006_568, 15_723_328,
                               "timm 1.0.31 + torchinfo 1.8 (BNs left out: BatchNormAct2d)"),
    "mobilenetv4_conv_medium": (9_715_512, 1_080_245_224, 60_639_040,
                                "timm 1.0.31 + torchinfo 1.8, 256x256 (BNs left out: BatchNormAct2d)"),
    "lraspp_mobilenetv3_large": (3_221_538, 379_343_976, 85_102_528, "torchvision 0.29 + torchinfo 1.8 (21 classes)"),
    "essnetb": (547_120, 10_600_000_000, None, "thesis's grouped rows extrapolated to g=1 (its D row: 683,568; "
                "GFLOPs 10.60)"),
    "essneta": (None, None, None, "thesis: no row (its ESSNet rows group ESSNetB's D layers)"),
    "segnet": (29_449_355, 104_210_995_712, 1_225_973_760, "tests/refnets/segnet.py (the authors' Caffe layers) + "
               "torchinfo 1.8 (ENet's Table 3: 29.46 M)"),
    "efficientvit_b0": (3_410_008, 98_172_376, 37_861_184,
                        "timm 1.0.31 + torchinfo 1.8 (benchmarks/efficient_timm.md)"),
    "ddrnet23_slim": (5_695_987, 36_302_933_376, 1_524_184_064, "the authors' code (ydhongHIT/DDRNet) + torchinfo 1.8 "
                      "(paper: 5.7 M, 36.3 G)"),
    "segformer_b0": (3_752_694, 5_472_290_304, 373_293_056, "tests/refnets/segformer.py (smp 0.6 structure) + "
                     "torchinfo 1.8 (paper: 3.8 M); attention MACs 1,040,187,392 on top"),
    "mobilevit_xxs": (1_272_024, 197_487_592, 50_323_264, "timm 1.0.31 + torchinfo 1.8 (BNs left out, token layers "
                      "counted 4 times: docs/specs.md); attention MACs 78,184,448 on top"),
    "mobilevit_s": (5_578_632, 1_104_653_096, 146_571_072, "timm 1.0.31 + torchinfo 1.8 (BNs left out, token layers "
                    "counted 4 times: docs/specs.md); attention MACs 177,635,328 on top"),
    "fpn_resnet18": (13_066_454, 18_077_101_184, 335_282_176, "smp 0.6 + torchinfo 1.8 (benchmarks/smp_cnns.md)"),
    "unet_resnet18": (14_349_814, 27_256_171_840, 782_237_696, "smp 0.6 + torchinfo 1.8 (benchmarks/smp_cnns.md)"),
    "pspnet_resnet50": (30_495_446, 111_143_436_672, 2_144_415_744,
                        "smp 0.6, encoder_depth=5, output_stride=8 + torchinfo 1.8 (benchmarks/smp_cnns.md)"),
}


def references():
    from refnets import mobilenetv4
    from refnets.ddrnet import DDRNet23Slim
    from refnets.deeplab import DeepLabV3PlusMobileNetV2
    from refnets.efficientvit import EfficientViTB0
    from refnets.enet import ENet
    from refnets.essnet import ESSNetA, ESSNetB
    from refnets.lraspp import LRASPP
    from refnets.mobilenet import MobileNetV2, mobilenet_v3_large, mobilenet_v3_small
    from refnets.mobilevit import MobileViT
    from refnets.pidnet import PIDNetS
    from refnets.segnet import SegNet
    from refnets.shufflenetv2 import ShuffleNetV2
    from refnets.smp_cnns import FPNResNet18, PSPResNet50, UnetResNet18

    return {"shufflenetv2": lambda: (ShuffleNetV2(1.0), "3x224x224"), "enet": lambda: (ENet(), "3x512x512"),
            "mobilenetv4_conv_small": lambda: (mobilenetv4.mobilenetv4_conv_small(), "3x224x224"),
            "mobilenetv4_conv_medium": lambda: (mobilenetv4.mobilenetv4_conv_medium(), "3x256x256"),
            "lraspp_mobilenetv3_large": lambda: (LRASPP(), "3x224x224"),
            "mobilenetv2": lambda: (MobileNetV2(), "3x224x224"),
            "deeplabv3plus_mobilenetv2": lambda: (DeepLabV3PlusMobileNetV2(), "3x224x224"),
            "mobilenetv3_large": lambda: (mobilenet_v3_large(), "3x224x224"),
            "mobilenetv3_small": lambda: (mobilenet_v3_small(), "3x224x224"),
            "essnetb": lambda: (ESSNetB(), "3x256x512"), "essneta": lambda: (ESSNetA(), "3x256x512"),
            "pidnet_s": lambda: (PIDNetS(), "3x512x1024"), "segnet": lambda: (SegNet(), "3x64x96"),
            "ddrnet23_slim": lambda: (DDRNet23Slim(), "3x512x1024"),
            "efficientvit_b0": lambda: (EfficientViTB0(), "3x224x224"),
            "mobilevit_xxs": lambda: (MobileViT("xxs"), "3x256x256"), "mobilevit_s": lambda: (MobileViT("s"), "3x256x256"),
            "fpn_resnet18": lambda: (FPNResNet18(), "3x128x128"),
            "unet_resnet18": lambda: (UnetResNet18(), "3x128x128"),
            "pspnet_resnet50": lambda: (PSPResNet50(), "3x128x128")}


# specs whose reference stores its modules out of run order: the reference's state_dict (seeded, random BN
# statistics) goes into archc through this weights map instead of archc's weights into the reference
MAPS = {"ddrnet23_slim": {"order": {"high3": "layer3_", "down3": "down3", "compress3": "compression3",
                                   "high4": "layer4_", "down4": "down4", "compress4": "compression4"}}}


def mapped_difference(path: str, model, size: str, mapping: dict) -> float:
    import torch

    from archc.torch.weights import lowered_report, randomize_bn

    torch.manual_seed(0)
    randomize_bn(model)
    module, _ = lowered_report(compile_spec(path, input=size).graph, model.eval().state_dict(), mapping)
    x = torch.randn(1, *map(int, size.split("x")), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return float((module(x) - model(x)).abs().max())


def fmt(n) -> str:
    return "-" if n is None else f"{n:,}"


def main(names=None) -> None:
    """Every bundled spec's row, or those of `names` (python benchmarks/spec_table.py segnet ...)."""
    refs = references()
    print("| spec | input | params | ref. params | MACs | ref. MACs | activation bytes | ref. act. bytes "
          "| max output diff | reference |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, path in bundled().items():
        if names and name not in names:
            continue
        r = compile_spec(path).report
        p, m, a, src = REFERENCE.get(name, (None, None, None, "-"))
        diff = "-"
        if name in refs:
            model, size = refs[name]()
            diff = (mapped_difference(str(path), model, size, MAPS[name]) if name in MAPS
                    else max_difference(str(path), model, size))
            diff = f"{diff:.1e}"
            diff += "" if size == "x".join(map(str, r.input)) else f" at {size}"
        print(f"| {name} | {'x'.join(map(str, r.input))} | {fmt(r.params)} | {fmt(p)} | {fmt(r.macs)} | {fmt(m)} "
              f"| {fmt(r.activation_bytes)} | {fmt(a)} | {diff} | {src} |")


if __name__ == "__main__":
    main(sys.argv[1:])
