"""DeepLabV3+ on three MobileNet backbones (DeepLabV3+: Chen et al., ECCV 2018, arXiv:1802.02611;
torchvision's MobileNet backbones), beside the numbers
the student reports publish (21 classes, 3x224x224).

    python examples/deeplab_backbones.py

Each spec takes its backbone from the backbone's own spec file (`import:`); the output stride
is a variable. The reports measured with ptflops, which also counts batch norm, activations and
upsampling, so their MACs sit a little above torchinfo's; parameter counts are comparable.
"""
from __future__ import annotations

from pathlib import Path

from archc.compile import compile_spec

SPECS = Path(__file__).resolve().parent.parent / "specs"

# backbone -> (spec, reported params (M), reported ptflops GMac)
REPORTED = {
    "MobileNetV2": ("deeplabv3plus_mobilenetv2.yaml", 5.23, 2.65),
    "MobileNetV3-Large": ("deeplabv3plus_mobilenetv3_large.yaml", 11.4, 1.14),
    "MobileNetV3-Small": ("deeplabv3plus_mobilenetv3_small.yaml", 6.24, 0.8335),
}
NOTES = {
    "MobileNetV3-Large": "the listed parts add up to ours; the reports' extra ~0.26 M is unexplained",
}


def main() -> None:
    print("DeepLabV3+ backbones (21 classes, 3x224x224; ours: torchinfo; reported: ptflops)")
    print(f"{'backbone':<18} {'OS':>3} {'params':>11} {'reported':>9} {'GMACs':>7} {'reported':>9}"
          f"  low-level -> ASPP input")
    for name, (spec, r_params, r_gmac) in REPORTED.items():
        for os_ in (32, 16, 8):
            c = compile_spec(SPECS / spec, variables={"output_stride": os_})
            r = c.report
            first = os_ == 32
            label, p_rep, m_rep = (name, f"{r_params:.2f}M", f"{r_gmac:.3f}") if first else ("", "", "")
            print(f"{label:<18} {os_:>3} {r.params:>11,} {p_rep:>9} {r.macs / 1e9:>7.3f} {m_rep:>9}  "
                  f"{feature(c, 'head.1.0.project.conv')} -> {feature(c, 'head.0.0.b0.conv')}")
        if name in NOTES:
            print(f"{'':<23}note: {NOTES[name]}")


def feature(compiled, consumer: str) -> str:
    """The shape of the map that node `consumer` reads (the low-level tap, the ASPP input)."""
    g = compiled.graph
    return "x".join(map(str, g.shape(g[consumer].inputs[0])))


if __name__ == "__main__":
    main()
