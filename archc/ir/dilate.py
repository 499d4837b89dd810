"""Output stride: in a stage with `output_stride: N`, a stride that would take the
feature map below 1/N becomes a dilation instead (DeepLab's atrous backbones). Every
block after the one that gives up its stride dilates by the stride it dropped; two
conventions differ on that block itself:

    output_stride: 16                                # it keeps the previous dilation: timm
                                                     # (_efficientnet_builder), TF-DeepLab, torchvision's ResNet
    output_stride: {stride: 16, dilate_strided: true}  # it takes the new one: torchvision's
                                                     # MobileNetV3 (dilated=True), its DeepLabV3 / LR-ASPP backbones
"""
from __future__ import annotations

from dataclasses import dataclass

from archc.errors import SpecError
from archc.ops import REQUIRED


@dataclass(frozen=True)
class OutputStride:
    stride: int
    dilate_strided: bool = False  # the block giving up its stride is dilated too (torchvision's MobileNetV3)


class Dilation:
    """The builder's running dilation rate, shared by all stages that set `output_stride`."""

    def __init__(self):
        self.rate = 1

    def apply(self, op: str, args: dict, params: dict, here, os_: OutputStride, where: str, mark) -> dict:
        """`args` of one block, with its stride turned into dilation where `os_` requires it.
        `here` is the stride of the block's input (None when not spatial)."""
        limit = os_.stride
        s = args.get("s", _default(params, "s"))
        if s is None:  # a pool's stride defaults to its kernel
            s = args.get("k", _default(params, "k"))
        s = _first(s)
        rate = self.rate
        if s > 1 and here is not None and here * s > limit:
            if "d" not in params:
                raise SpecError(f"{where}: output_stride {limit}: {op} has no dilation `d` to take over its "
                                f"stride {s}; use a larger output_stride or an op with `d`", mark)
            args = {**args, "s": 1}
            self.rate *= s
            rate = self.rate if os_.dilate_strided else rate
        if rate > 1 and "d" in params:
            d = args.get("d", _default(params, "d"))
            if not isinstance(d, (int, list)):
                raise SpecError(f"{where}: output_stride {limit}: cannot dilate {op} whose `d` is {d!r}", mark)
            args = {**args, "d": [v * rate for v in d] if isinstance(d, list) else d * rate}
        return args


def _default(params: dict, name: str):
    p = params.get(name)
    return 1 if p is None or p.default is REQUIRED else p.default


def _first(s) -> int:
    return s[0] if isinstance(s, list) else s


def output_stride(stage, resolve) -> OutputStride | None:
    """A stage's `output_stride` (None when unset), `$expressions` evaluated by resolve(value, mark)."""
    if stage.output_stride is None:
        return None
    mark = stage.marks.get("output_stride", stage.mark)
    given = stage.output_stride if isinstance(stage.output_stride, dict) else {"stride": stage.output_stride}
    value, strided = resolve(given["stride"], mark), resolve(given.get("dilate_strided", False), mark)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
        raise SpecError(f"output_stride must be a power of two such as 8, 16 or 32, got {value!r}", mark)
    if not isinstance(strided, bool):
        raise SpecError(f"output_stride: dilate_strided must be true or false, got {strided!r}", mark)
    return OutputStride(value, strided)
