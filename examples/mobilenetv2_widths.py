"""MobileNetV2 at widths 1.0 / 0.75 / 0.5 / 0.35 (the width pass on specs/mobilenetv2.yaml),
beside the numbers published with the TensorFlow-slim checkpoints (tensorflow/models,
research/slim/nets/mobilenet/README.md; 224x224).

    python examples/mobilenetv2_widths.py

Both round every scaled channel count with make_divisible(c * width, 8) and keep the last conv at
1280 channels below width 1. The published parameter counts leave out the batch-norm parameters
and count 1001 classes (ImageNet plus background): the column "as TF" does the same with ours and
meets the published figure at every width. torchvision publishes only width 1.0 (3,504,872 params,
300.81 M MACs), which archc reproduces to the unit.
"""
from __future__ import annotations

from pathlib import Path

from archc.compile import compile_spec

SPEC = Path(__file__).resolve().parent.parent / "specs" / "mobilenetv2.yaml"

# width -> (published MACs (M), published params (M))
PUBLISHED = {1.0: (300, 3.47), 0.75: (209, 2.61), 0.5: (97, 1.95), 0.35: (59, 1.66)}


def main() -> None:
    print("MobileNetV2 width multiplier (3x224x224, 1000 classes; ours: torchinfo; published: TF-slim)")
    print(f"{'width':>5} {'params':>11} {'as TF':>7} {'published':>9} {'MACs (M)':>9} {'published':>9}"
          f"  first conv / last conv")
    for width, (p_macs, p_params) in PUBLISHED.items():
        c = compile_spec(SPEC, [f"width={width}"])
        r, g = c.report, c.graph
        bn = sum(layer.params for layer in r.layers if layer.op == "bn")
        as_tf = r.params - bn + g.shape("classifier.0.0.dropout")[0] + 1  # one more class: background
        first, last = g.shape("features.0.0.conv")[0], g.shape("features.8.0.conv")[0]
        print(f"{width:>5} {r.params:>11,} {as_tf / 1e6:>6.2f}M {p_params:>8.2f}M {r.macs / 1e6:>9.2f} {p_macs:>9}"
              f"  {first} / {last}")


if __name__ == "__main__":
    main()
