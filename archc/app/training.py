"""The commands that make data, train and score: data synth, train, eval."""
from __future__ import annotations

from pathlib import Path

from archc.app import requests as rq
from archc.app.common import compiled, size
from archc.app.values import QUIET, Hooks, Source
from archc.errors import ArchcError


def synth(request: rq.Synth) -> dict:
    """A deterministic synthetic segmentation set (textured shapes on clutter) in OUT/{train,val};
    returns the counts (train, val, size, classes, seed, kind)."""
    from archc.train.synth import Recipe, write

    r = request
    return write(Recipe(r.kind, r.classes, r.images, size(r.size), r.seed), r.out, r.force)


def train(request: rq.Train, hooks: Hooks = QUIET) -> dict:
    """Train a compiled spec; after every epoch OUT/checkpoint.pt, weights.pt and metrics.json.
    Returns metrics.json's content."""
    from archc.train.loop import Config, Run
    from archc.train.run import Start, train_spec

    r = request
    config = Config(r.epochs, r.batch, r.lr, r.optimizer, r.schedule, augment=r.augment, seed=r.seed,
                    threads=r.threads, crop=size(r.crop, "--crop") if r.crop else None,
                    scale=_floats(r.scale, "--scale", "-"), jitter=r.jitter, loss=r.loss,
                    class_weights=r.class_weights, format=r.format, device=r.device, amp=r.amp, qat=r.qat)
    c = compiled(r.source, hooks)
    if c.quantize is not None and not r.qat:
        hooks.notes([f"--pass {c.quantize.describe()} acts on exports; training uses it only with --qat (the "
                     f"int8 grid its fake quantization follows)"])
    parent = None
    if r.from_parent is not None:  # the parent: the same spec and passes without the width pass
        narrow = tuple(p for p in r.source.passes if not p.strip().startswith("width"))
        s = r.source
        parent = (compiled(Source(s.spec, narrow, s.input, s.variables, s.recipe), hooks), r.from_parent)
    with hooks.training(r.epochs) as progress:
        return train_spec(c, r.data, config, Run(r.out, r.resume, progress, tensorboard=r.tensorboard),
                          Start(r.weights, parent, r.gradual_groups), hooks.notes)


def evaluate(request: rq.Eval, hooks: Hooks = QUIET) -> dict:
    """{model name: mIoU, per-class IoU, pixel accuracy} of a trained spec (and with `quantize`, of its
    quantized export) or of an ONNX model (in ONNX Runtime)."""
    from archc.train.evaluate import Inference
    from archc.train.metrics import Confusion

    target, source, r = Path(request.target), request.source or Source(request.target), request
    how = Inference(r.split, r.inference, r.format, r.flip, _floats(r.scales, "--scales") or (1.0,))
    conf = Confusion(0) if r.confusion else None
    if target.suffix in (".onnx", ".tflite"):
        if request.weights or source.passes or source.input or source.variables or request.quantize:
            raise ArchcError(f"{target}: --weights, --pass, --input, --var and --quantize apply to a spec, "
                             f"not an {target.suffix} model")
        from archc.train.evaluate import evaluate_onnx, evaluate_tflite

        score = evaluate_tflite if target.suffix == ".tflite" else evaluate_onnx
        results = {target.name: score(target, request.data, how, conf)}
    elif request.weights is None:
        raise ArchcError(f"{target}: a spec needs --weights CKPT (e.g. RUN/weights.pt from archc train)")
    else:
        c = compiled(Source(target, source.passes, source.input, source.variables), hooks)
        results = _eval_spec(c, request, how, conf, hooks)
    if r.confusion:
        from archc.train.pictures import confusion_png

        confusion_png(conf, next(iter(results.values()))["classes"], r.confusion)
    return results


def _floats(text: str | None, option: str, sep: str = ",") -> tuple | None:
    if text is None or text.lower() == "none":
        return None
    try:
        return tuple(float(v) for v in text.split(sep))
    except ValueError:
        raise ArchcError(f"{option} {text}: expected numbers separated by '{sep}'") from None


def _eval_spec(c, request: rq.Eval, how, conf, hooks: Hooks) -> dict:
    """`how`: the Inference (archc.train.evaluate) archc eval's options ask for."""
    import tempfile

    from archc.train import evaluate, quality

    if request.quantize is None:
        module, took = evaluate.with_weights(c, request.weights)
        if took != "its state_dict":
            hooks.notes([f"--weights {request.weights}: took {took}"])
        return {c.spec.name: evaluate.evaluate_checkpoint(c, module, request.data, how, conf)}
    if request.out is not None:  # a transaction (archc.fs): a folder of a user's files refused, archc's replaced whole
        from archc.fs import atomic_dir
        from archc.train.folder import refuse_foreign

        out = Path(request.out)
        refuse_foreign(out)
        with atomic_dir(out, flag="--out") as tmp:
            scores = quality.quantized_quality(c, request.weights, request.data, request.quantize, tmp)
        return {k: {**v, "model": str(out / Path(v["model"]).name)} for k, v in scores.items()}
    with tempfile.TemporaryDirectory() as tmp:
        return quality.quantized_quality(c, request.weights, request.data, request.quantize, tmp)


def predict_masks(request: rq.Predict, hooks: Hooks = QUIET) -> dict:
    """Colour masks, overlays and a labelled contact sheet (image | ground truth | each model's prediction)
    in OUT; returns each model's label and mIoU (where the images have ground truth)."""
    from archc.train import predict as pr

    r = request
    if r.models:
        loaded = [pr.from_onnx(m) if Path(m).suffix == ".onnx" else pr.from_run(m) for m in r.models]
    elif r.source is None:
        raise ArchcError("give a model (SPEC or MODEL.onnx) and at least one image or folder, or --models")
    else:
        loaded = [_predict_model(r, hooks)]
    if len({m.classes for m in loaded}) > 1:
        raise ArchcError(f"--models: the models have {sorted({m.classes for m in loaded})} classes; compare "
                         f"models of one dataset")
    found, names, palette = pr.sources(list(r.images), loaded[0].classes, r.split, r.format, r.limit)
    return pr.predict(loaded, found, names, palette, r.out, r.force)


def _predict_model(r: rq.Predict, hooks: Hooks):
    from archc.train import predict as pr

    target, s = Path(r.source.spec), r.source
    if target.suffix == ".onnx":
        if r.weights or s.passes or s.input or s.variables:
            raise ArchcError(f"{target}: --weights, --pass, --input and --var apply to a spec, not an .onnx model")
        return pr.from_onnx(target)
    if r.weights is None:
        raise ArchcError(f"{target}: a spec needs --weights CKPT (e.g. RUN/weights.pt from archc train)")
    c = compiled(s, hooks)
    label = " ".join([c.spec.name, *s.passes])
    return pr.from_compiled(label, c, r.weights, pr._final_miou(Path(r.weights).parent))
