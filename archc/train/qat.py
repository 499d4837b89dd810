"""Quantization-aware training (`archc train --qat`): the lowered module fine-tuned with fake quantization
placed where the ONNX int8 export (QDQ, archc.onnx.quantize) quantizes, so that the weights learn to live with
the rounding the int8 model will do:

- weights of every conv and linear layer: symmetric, on the grid `quantize=int8` will store them with (Grid,
  from the quantize pass the run is given, ONNX Runtime's rule): one scale per output channel or one per
  tensor (per_channel), -64..64 (reduce_range, the default) or -127..127, scale = absmax / 64 or / 127. A
  conv whose output feeds only batch norm is exported with the norm folded into it, so its weight is rounded
  folded (w * gamma / sqrt(running_var + eps), the norm's running statistics) and unfolded again: per
  channel that is the same as rounding w, per tensor it is not (one scale over the folded channels);
- activations: uint8, asymmetric, one range per tensor (an exponential moving average of the batch's min
  and max while training, frozen in eval mode), on the input and on every float tensor an op gives, except
  a conv's output that only feeds batch norm (folded into the conv) and a tensor that only feeds a ReLU
  (the export fuses it into the producer's output range). int8 activations (act=int8) have the same grid
  shifted by 128.

Fake quantization passes gradients straight through (torch.fake_quantize_*). The module keeps its parameter
names and adds no saved state (the ranges are non-persistent buffers), so RUN/weights.pt is an ordinary
checkpoint of the spec: `export_int8` quantizes it as `archc build --pass quantize=int8` (with the run's
per_channel and reduce_range) does, calibrated on the train images.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import fx, nn

MOMENTUM = 0.01  # of the ranges' moving average (torch's MovingAverageMinMaxObserver default)
PASS_THROUGH = (nn.BatchNorm2d, nn.ReLU, nn.ReLU6)  # outputs quantized after these, not before


class FakeQuant(nn.Module):
    """uint8 per-tensor fake quantization with a moving-average range (0 always inside it)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("lo", torch.tensor(0.0), persistent=False)
        self.register_buffer("hi", torch.tensor(0.0), persistent=False)
        self.register_buffer("seen", torch.tensor(False), persistent=False)

    def forward(self, x):
        if self.training:
            with torch.no_grad():
                lo, hi = x.detach().min().clamp(max=0).float(), x.detach().max().clamp(min=0).float()
                if bool(self.seen):
                    lo, hi = self.lo + MOMENTUM * (lo - self.lo), self.hi + MOMENTUM * (hi - self.hi)
                self.lo.copy_(lo)
                self.hi.copy_(hi)
                self.seen.fill_(True)
        if not bool(self.seen):
            return x
        scale = ((self.hi - self.lo) / 255).clamp(min=1e-8)
        zero = torch.clamp(torch.round(-self.lo / scale), 0, 255).to(torch.int32)
        return torch.fake_quantize_per_tensor_affine(x.float(), scale, zero, 0, 255).to(x.dtype)


@dataclass(frozen=True)
class Grid:
    """The weight grid of ONNX Runtime's int8 QDQ export (quantize_static, symmetric int8 weights)."""

    per_channel: bool = True
    reduce_range: bool = True  # 7-bit: -64..64 (ORT's reduced int8 range), else -127..127

    @property
    def qmax(self) -> int:
        return 64 if self.reduce_range else 127

    def __str__(self) -> str:
        return f"{'per-channel' if self.per_channel else 'per-tensor'} weights on -{self.qmax}..{self.qmax}"

    @classmethod
    def of(cls, qpass) -> "Grid":
        """The grid of a quantize pass (None: quantize=int8's defaults)."""
        return cls() if qpass is None else cls(qpass.per_channel, qpass.reduce_range)


def _weight(w, grid: Grid = Grid(), fold=None):
    """`w` fake-quantized on `grid`; `fold` (one factor per output channel, the batch norm the export folds
    into the conv) is applied before the rounding and taken off after it."""
    f = None if fold is None else _shaped(fold.detach(), w)
    f = None if f is None else torch.where(f == 0, torch.ones_like(f), f)  # a zero gamma: nothing to fold
    v = w if f is None else w * f
    if grid.per_channel:
        scale = (v.detach().abs().flatten(1).amax(1) / grid.qmax).clamp(min=1e-12).float()
        q = torch.fake_quantize_per_channel_affine(v, scale, torch.zeros_like(scale, dtype=torch.int32), 0,
                                                   -grid.qmax, grid.qmax)
    else:
        scale = (v.detach().abs().max() / grid.qmax).clamp(min=1e-12).float()
        q = torch.fake_quantize_per_tensor_affine(v, scale, torch.zeros((), dtype=torch.int32), -grid.qmax,
                                                  grid.qmax)
    return q if f is None else q / f


def _shaped(f, w):
    return f.reshape(-1, *([1] * (w.dim() - 1))).to(w.dtype)


def folded(layer) -> tuple:
    """(the weight as the int8 export folds it, its fake-quantized value): what `layer` (a QatConv2d or
    QatLinear, in eval mode) trains against, to compare with the export's int8 weights and scales."""
    f, w = _fold(layer), layer.weight.detach()
    v = w if f is None else w * _shaped(f.detach(), w)
    return v, _weight(v, layer.qat_grid)


def _fold(layer):
    """The per-channel factor gamma / sqrt(running_var + eps) of the batch norm folded into `layer`, or None."""
    bn = getattr(layer, "qat_bn", ())
    if not bn:
        return None
    bn = bn[0]
    return (bn.weight if bn.affine else torch.ones_like(bn.running_var)) / torch.sqrt(bn.running_var + bn.eps)


class QatConv2d(nn.Conv2d):
    qat_grid, qat_bn = Grid(), ()  # set by prepare(); qat_bn: (the batch norm it feeds,) or ()

    def forward(self, x):
        return self._conv_forward(x, _weight(self.weight, self.qat_grid, _fold(self)), self.bias)


class QatLinear(nn.Linear):
    qat_grid, qat_bn = Grid(), ()

    def forward(self, x):
        return nn.functional.linear(x, _weight(self.weight, self.qat_grid), self.bias)


def prepare(module: fx.GraphModule, shape, grid: Grid = Grid()) -> fx.GraphModule:
    """`module` (an archc lowered GraphModule) with fake quantization on `grid`, in place; returns it."""
    from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

    for sub in module.modules():  # the class only: parameters, names and the state_dict stay
        if type(sub) in (nn.Conv2d, nn.Linear):
            sub.__class__ = QatConv2d if type(sub) is nn.Conv2d else QatLinear
            sub.qat_grid = grid
    _find_folds(module)
    was = module.training
    module.eval()
    with torch.no_grad():
        ShapeProp(module).propagate(torch.zeros(2, *shape))
    module.train(was)
    graph, count = module.graph, 0
    for node in list(graph.nodes):
        meta = node.meta.get("tensor_meta")
        if node.op == "output" or not isinstance(meta, TensorMetadata) or not meta.dtype.is_floating_point:
            continue
        if node.users and all(_passes(module, user) for user in node.users):
            continue
        name = f"qat_act_{count}"
        count += 1
        module.add_submodule(name, FakeQuant())
        with graph.inserting_after(node):
            fq = graph.call_module(name, (node,))
        node.replace_all_uses_with(fq, delete_user_cb=lambda user: user is not fq)
    graph.lint()
    module.recompile()
    return module


def _find_folds(module) -> None:
    """Each conv whose output feeds one batch norm only gets it as `qat_bn` (a tuple: not a submodule)."""
    for node in module.graph.nodes:
        if node.op != "call_module" or not isinstance(module.get_submodule(node.target), QatConv2d):
            continue
        users = list(node.users)
        if len(users) == 1 and users[0].op == "call_module" and \
                isinstance(module.get_submodule(users[0].target), nn.BatchNorm2d):
            module.get_submodule(node.target).qat_bn = (module.get_submodule(users[0].target),)


def _passes(module, node) -> bool:
    return node.op == "call_module" and isinstance(module.get_submodule(node.target), PASS_THROUGH)


def export_int8(compiled, weights, data_dir, folder, samples: int = 32) -> Path:
    """folder/model.onnx (float32, verified) and folder/model.int8.onnx of QAT weights, int8 calibrated on
    `samples` train images normalized as the spec says (as `archc build --pass quantize=int8`, with the
    compiled spec's quantize pass's act, per_channel and reduce_range when it has one)."""
    from dataclasses import replace

    from archc.onnx.quantize import quantize
    from archc.passes.quantize import QuantizePass
    from archc.train.quality import calib_images, export_trained

    f32 = export_trained(compiled, weights, Path(folder) / "model.onnx")
    qpass = replace(compiled.quantize or QuantizePass("int8"), samples=samples)
    return quantize(f32, qpass, compiled.graph.input_shape, calib_images(data_dir, samples),
                    normalize=compiled.spec.normalization()).path
