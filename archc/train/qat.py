"""Quantization-aware training (`archc train --qat`): the lowered module fine-tuned with fake quantization
placed where the ONNX int8 export (QDQ, archc.onnx.quantize) quantizes, so that the weights learn to live with
the rounding the int8 model will do:

- weights of every conv and linear layer: symmetric, one scale per output channel, 7 bits (-63..63) as
  the export's default `reduce_range` stores them (a scale per output channel commutes with folding batch
  norm into the conv, so the unfolded weights round as the folded ones will);
- activations: uint8, asymmetric, one range per tensor (an exponential moving average of the batch's min
  and max while training, frozen in eval mode), on the input and on every float tensor an op gives, except
  a conv's output that only feeds batch norm (folded into the conv) and a tensor that only feeds a ReLU
  (the export fuses it into the producer's output range).

Fake quantization passes gradients straight through (torch.fake_quantize_*). The module keeps its parameter
names and adds no saved state (the ranges are non-persistent buffers), so RUN/weights.pt is an ordinary
checkpoint of the spec: `export_int8` quantizes it as `archc build --pass quantize=int8` does, calibrated
on the train images.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import fx, nn

WEIGHT_MAX = 63  # 7-bit weights: quantize=int8's reduce_range default (docs/quantization.md)
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


def _weight(w):
    """Symmetric, one scale per output channel (axis 0), -WEIGHT_MAX..WEIGHT_MAX."""
    scale = (w.detach().abs().flatten(1).amax(1) / WEIGHT_MAX).clamp(min=1e-8).float()
    zero = torch.zeros_like(scale, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -WEIGHT_MAX, WEIGHT_MAX)


class QatConv2d(nn.Conv2d):
    def forward(self, x):
        return self._conv_forward(x, _weight(self.weight), self.bias)


class QatLinear(nn.Linear):
    def forward(self, x):
        return nn.functional.linear(x, _weight(self.weight), self.bias)


def prepare(module: fx.GraphModule, shape) -> fx.GraphModule:
    """`module` (an archc lowered GraphModule) with fake quantization, in place; returns it."""
    from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

    for sub in module.modules():  # the class only: parameters, names and the state_dict stay
        if type(sub) is nn.Conv2d:
            sub.__class__ = QatConv2d
        elif type(sub) is nn.Linear:
            sub.__class__ = QatLinear
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


def _passes(module, node) -> bool:
    return node.op == "call_module" and isinstance(module.get_submodule(node.target), PASS_THROUGH)


def export_int8(compiled, weights, data_dir, folder, samples: int = 32) -> Path:
    """folder/model.onnx (float32, verified) and folder/model.int8.onnx of QAT weights, int8 calibrated on
    `samples` train images normalized as the spec says (as `archc build --pass quantize=int8`)."""
    from archc.onnx.quantize import quantize
    from archc.passes.quantize import QuantizePass
    from archc.train.quality import calib_folder, export_trained

    f32 = export_trained(compiled, weights, Path(folder) / "model.onnx")
    return quantize(f32, QuantizePass("int8", samples=samples), compiled.graph.input_shape, calib_folder(data_dir),
                    normalize=compiled.spec.normalization()).path
