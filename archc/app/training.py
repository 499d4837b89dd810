"""The commands that make data, train and score: data synth, train, eval."""
from __future__ import annotations

from pathlib import Path

from archc.app import requests as rq
from archc.app.common import compiled, size
from archc.app.values import QUIET, Hooks, Source
from archc.errors import ArchcError


def synth(request: rq.Synth) -> dict:
    """A deterministic synthetic segmentation set (textured shapes on clutter) in OUT/{train,val};
    returns the counts (train, val, size, classes)."""
    from archc.train.synth import synthesize

    return synthesize(request.out, request.classes, request.images, size(request.size), request.seed, request.force)


def train(request: rq.Train, hooks: Hooks = QUIET) -> dict:
    """Train a compiled spec; after every epoch OUT/checkpoint.pt, weights.pt and metrics.json.
    Returns metrics.json's content."""
    from archc.train.loop import Config
    from archc.train.run import train_spec

    r = request
    config = Config(r.epochs, r.batch, r.lr, r.optimizer, r.schedule, augment=r.augment, seed=r.seed,
                    threads=r.threads)
    c = compiled(r.source, hooks)
    parent = None
    if r.from_parent is not None:  # the parent: the same spec and passes without the width pass
        narrow = tuple(p for p in r.source.passes if not p.strip().startswith("width"))
        s = r.source
        parent = (compiled(Source(s.spec, narrow, s.input, s.variables, s.recipe), hooks), r.from_parent)
    with hooks.training(r.epochs) as progress:
        return train_spec(c, r.data, config, r.out, r.weights, parent, r.gradual_groups, r.resume, progress)


def evaluate(request: rq.Eval, hooks: Hooks = QUIET) -> dict:
    """{model name: mIoU, per-class IoU, pixel accuracy} of a trained spec (and with `quantize`, of its
    quantized export) or of an ONNX model (in ONNX Runtime)."""
    target, source = Path(request.target), request.source or Source(request.target)
    if target.suffix == ".onnx":
        if request.weights or source.passes or source.input or source.variables or request.quantize:
            raise ArchcError(f"{target}: --weights, --pass, --input, --var and --quantize apply to a spec, "
                             f"not an .onnx model")
        from archc.train.evaluate import evaluate_onnx

        return {target.name: evaluate_onnx(target, request.data, request.split)}
    if request.weights is None:
        raise ArchcError(f"{target}: a spec needs --weights CKPT (e.g. RUN/weights.pt from archc train)")
    c = compiled(Source(target, source.passes, source.input, source.variables), hooks)
    return _eval_spec(c, request)


def _eval_spec(c, request: rq.Eval) -> dict:
    import tempfile

    from archc.train import evaluate, quality

    if request.quantize is None:
        return {c.spec.name: evaluate.evaluate_checkpoint(c, request.weights, request.data, request.split)}
    if request.out is not None:
        request.out.mkdir(parents=True, exist_ok=True)
        return quality.quantized_quality(c, request.weights, request.data, request.quantize, request.out)
    with tempfile.TemporaryDirectory() as tmp:
        return quality.quantized_quality(c, request.weights, request.data, request.quantize, tmp)
