from __future__ import annotations

from dataclasses import dataclass

from archc.errors import PassError
from archc.lang.spec import Spec
from archc.passes import GraphOf
from . import Pass, register

MODES = ("int8", "dynamic", "fp16")
ACTIVATIONS = ("uint8", "int8")


@register
@dataclass(frozen=True)
class QuantizePass(Pass):
    """Post-training quantization of the exported ONNX model, written beside it as
    model.<mode>.onnx with its size, latency and fidelity against float32. Acts after
    lowering: the spec and the float model are unchanged.

    int8: static QDQ, per-channel int8 weights, uint8 activations, calibrated on
    `--calib DIR` images (or, with a warning, synthetic inputs). dynamic: int8
    weights, activations quantized at run time (slow on convnets). fp16: half-size file.

        --pass quantize=int8          recipe: - quantize: int8
        --pass quantize=int8,samples=32,act=int8
        --pass quantize=int8,reduce_range=false   (8-bit weights, for CPUs with VNNI)
        --pass quantize=int8,per_channel=false    (one weight scale per tensor)

    `archc train --qat` fine-tunes on the weight grid of the quantize=int8 pass it is given.
    """

    name = "quantize"
    structural = False
    mode: str
    samples: int = 16  # calibration inputs (at most; a --calib folder may hold fewer)
    act: str = "uint8"  # int8 activations are the library default: slower on x86 (convs stay float)
    per_channel: bool = True
    # 7-bit weights: x86 CPUs without VNNI (AVX2) sum u8 x s8 products in saturating int16, which full 8-bit
    # weights overflow (Fast-SCNN: SQNR 12 dB instead of 25, 1 December); reduce_range=false for VNNI or ARM
    # targets (on this machine's AVX-512 VNNI: 26.1 dB with 8-bit against 24.9 with 7-bit, benchmarks/reduce_range.md)
    reduce_range: bool = True

    def __post_init__(self):
        if self.mode not in MODES:
            raise PassError(f"pass 'quantize': mode '{self.mode}' is not one of {', '.join(MODES)}, "
                            f"e.g. quantize=int8")
        if self.act not in ACTIVATIONS:
            raise PassError(f"pass 'quantize': act must be one of {', '.join(ACTIVATIONS)}, got '{self.act}'")
        if not 1 <= self.samples <= 10000:
            raise PassError(f"pass 'quantize': samples={self.samples} must be between 1 and 10000")

    def apply(self, spec: Spec, graph_of: GraphOf) -> Spec:
        return spec  # nothing to rewrite: the export stage runs it
