"""Commands that make data, train and score: data synth, train, eval."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from archc.cli.app import InputOpt, JsonOpt, PassOpt, RecipeOpt, SpecArg, VarOpt, _compile, app, boundary
from archc.errors import ArchcError

data_app = typer.Typer(no_args_is_help=True, help="Datasets: make a synthetic one.")
app.add_typer(data_app, name="data")
DataOpt = Annotated[Path, typer.Option("--data", help="dataset folder: Cityscapes, ADE20K, CamVid, Pascal VOC, "
                                                      "DIR/{train,val}/{images,masks} or DIR/{images,masks}")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", help="the dataset layout: cityscapes, ade20k, camvid, "
                                                                   "voc, split or folders (default: detected)")]
InferOpt = Annotated[str, typer.Option("--inference", help="auto, whole (the full image in one pass) or slide "
                                                           "(windows of the input size)")]
FlipOpt = Annotated[bool, typer.Option("--flip", help="also infer the mirrored image and average")]
ScalesOpt = Annotated[Optional[str], typer.Option("--scales", help="multi-scale inference, e.g. 0.75,1,1.25")]
SeedOpt = Annotated[int, typer.Option("--seed", help="random seed (data order, crops, init)")]
CropOpt = Annotated[Optional[str], typer.Option("--crop", help="training crop HxW (default: the spec's input)")]
ScaleOpt = Annotated[str, typer.Option("--scale", help="random scale range LOW-HIGH of the image (the "
                                                        "Cityscapes recipes: 0.5-2.0), or none")]
JitterOpt = Annotated[float, typer.Option("--jitter", help="photometric jitter (brightness, contrast, "
                                                           "saturation), e.g. 0.2")]
LossOpt = Annotated[str, typer.Option("--loss", help="ce, or ohem (the hardest pixels)")]
WeightsOpt = Annotated[bool, typer.Option("--class-weights", help="weight classes by 1/ln(1.02 + frequency)")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto (CUDA when torch sees a GPU), cuda or cpu")]
AmpOpt = Annotated[bool, typer.Option("--amp/--no-amp", help="mixed precision on CUDA")]
BoardOpt = Annotated[bool, typer.Option("--tensorboard", help="RUN/tensorboard/ event files (archc[tensorboard])")]


def _size(text: str, option: str = "--size") -> tuple:
    h, sep, w = text.lower().partition("x")
    if not sep or not h.strip().isdigit() or not w.strip().isdigit():
        raise ArchcError(f"{option} {text}: expected HxW, e.g. 128x128")
    return int(h), int(w)


def _floats(text: Optional[str], option: str, sep: str = ",") -> Optional[tuple]:
    if text is None or text.lower() == "none":
        return None
    try:
        return tuple(float(v) for v in text.split(sep))
    except ValueError:
        raise ArchcError(f"{option} {text}: expected numbers separated by '{sep}'") from None


@data_app.command("synth")
@boundary
def synth(out: Annotated[Path, typer.Argument(help="folder to write", show_default=False)],
          classes: Annotated[int, typer.Option(help="model classes (1: one object class on background)")] = 4,
          images: Annotated[int, typer.Option(help="images in all; 20% go to val")] = 200,
          size: Annotated[str, typer.Option(help="HxW")] = "128x128", seed: SeedOpt = 0,
          force: Annotated[bool, typer.Option(help="replace a folder archc wrote before")] = False):
    """Write a deterministic synthetic segmentation set (textured shapes on clutter) to OUT/{train,val}."""
    from archc.cli import render_train
    from archc.train.synth import synthesize

    render_train.synth(synthesize(out, classes, images, _size(size), seed, force), out)


@app.command()
@boundary
def train(spec: SpecArg, data: DataOpt, epochs: Annotated[int, typer.Option(help="epochs to train")],
          out: Annotated[Path, typer.Option("--out", "-o", help="run folder: checkpoint.pt, weights.pt, metrics.json")],
          pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None, recipe: RecipeOpt = None,
          batch: Annotated[int, typer.Option(help="images per step")] = 8,
          lr: Annotated[Optional[float], typer.Option(help="peak learning rate (AdamW 1e-3, SGD 0.01)")] = None,
          optimizer: Annotated[str, typer.Option(help="adamw or sgd")] = "adamw",
          schedule: Annotated[str, typer.Option(help="cosine or poly, per step")] = "cosine",
          augment: Annotated[bool, typer.Option(help="random crop and flip (and --scale)")] = True,
          crop: CropOpt = None, scale: ScaleOpt = "none", jitter: JitterOpt = 0.0, loss: LossOpt = "ce",
          class_weights: WeightsOpt = False, format: FormatOpt = None, device: DeviceOpt = "auto",
          amp: AmpOpt = True, tensorboard: BoardOpt = False,
          weights: Annotated[Optional[Path], typer.Option(help="start from this checkpoint")] = None,
          from_parent: Annotated[Optional[Path], typer.Option("--from-parent", help="a parent's checkpoint to "
                                                              "carry into this width-shrunk model")] = None,
          gradual_groups: Annotated[Optional[int], typer.Option("--gradual-groups", help="ESSNet's gradual "
                                                                "grouping into G groups")] = None,
          resume: Annotated[bool, typer.Option(help="continue the run in --out from its last epoch")] = False,
          seed: SeedOpt = 0, threads: Annotated[int, typer.Option(help="CPU threads")] = 1,
          json_: JsonOpt = False):
    """Train SPEC (after passes) on DATA; after every epoch OUT/checkpoint.pt, weights.pt and metrics.json."""
    from archc.cli import render_train
    from archc.train.loop import Config
    from archc.train.run import train_spec

    config = Config(epochs, batch, lr, optimizer, schedule, augment=augment, seed=seed, threads=threads,
                    crop=_size(crop, "--crop") if crop else None, scale=_floats(scale, "--scale", "-"),
                    jitter=jitter, loss=loss, class_weights=class_weights, format=format, device=device, amp=amp)
    c = _compile(spec, pass_, input, var, recipe)
    parent = None
    if from_parent is not None:  # the parent: the same spec and passes without the width pass
        narrow = [p for p in pass_ or [] if not p.strip().startswith("width")]
        parent = (_compile(spec, narrow, input, var, recipe), from_parent)
    with render_train.training(epochs) as progress:
        state = train_spec(c, data, config, out, weights, parent, gradual_groups, resume, progress,
                           tensorboard=tensorboard)
    if json_:
        print(json.dumps(state))
        return
    render_train.epochs(state)


@app.command("eval")
@boundary
def eval_(target: Annotated[Path, typer.Argument(help="a spec, or an .onnx model", show_default=False)],
          data: DataOpt, weights: Annotated[Optional[Path], typer.Option(help="checkpoint (for a spec)")] = None,
          pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
          split: Annotated[str, typer.Option(help="train or val")] = "val",
          quantize: Annotated[Optional[str], typer.Option(help="int8, fp16 or dynamic: also export and quantize "
                                                          "the trained model; score both in ONNX Runtime")] = None,
          out: Annotated[Optional[Path], typer.Option("--out", "-o", help="keep the --quantize models here")] = None,
          format: FormatOpt = None, inference: InferOpt = "auto", flip: FlipOpt = False, scales: ScalesOpt = None,
          confusion: Annotated[Optional[Path], typer.Option(help="write the confusion matrix as a PNG")] = None,
          json_: JsonOpt = False):
    """mIoU, per-class IoU and pixel accuracy of a trained spec or an ONNX model (in ONNX Runtime), each image
    at full resolution (whole, or in sliding windows for a fixed input size)."""
    from archc.cli import render_train
    from archc.train.metrics import Confusion

    how = dict(mode=inference, fmt=format, flip=flip, scales=_floats(scales, "--scales") or (1.0,))
    conf = Confusion(0) if confusion else None
    if target.suffix == ".onnx":
        if weights or pass_ or input or var or quantize:
            raise ArchcError(f"{target}: --weights, --pass, --input, --var and --quantize apply to a spec, "
                             f"not an .onnx model")
        from archc.train.evaluate import evaluate_onnx

        results = {target.name: evaluate_onnx(target, data, split, conf=conf, **how)}
    elif weights is None:
        raise ArchcError(f"{target}: a spec needs --weights CKPT (e.g. RUN/weights.pt from archc train)")
    else:
        results = _eval_spec(_compile(target, pass_, input, var), weights, data, split, quantize, out, how, conf)
    if confusion:
        from archc.train.pictures import confusion_png

        confusion_png(conf, next(iter(results.values()))["classes"], confusion)
    if json_:
        print(json.dumps(next(iter(results.values())) if len(results) == 1 else results))
        return
    render_train.scores(results)


def _eval_spec(compiled, weights, data, split, quantize, out, how, conf) -> dict:
    import tempfile

    from archc.train import evaluate, quality

    if quantize is None:
        return {compiled.spec.name: evaluate.evaluate_checkpoint(compiled, weights, data, split, conf=conf, **how)}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        return quality.quantized_quality(compiled, weights, data, quantize, out)
    with tempfile.TemporaryDirectory() as tmp:
        return quality.quantized_quality(compiled, weights, data, quantize, tmp)


@app.command()
@boundary
def predict(items: Annotated[List[str], typer.Argument(help="SPEC or MODEL.onnx (unless --models), then images, "
                                                             "image folders or dataset folders", show_default=False)],
            out: Annotated[Path, typer.Option("--out", "-o", help="folder: masks/, overlays/, sheet.png")],
            weights: Annotated[Optional[Path], typer.Option(help="checkpoint (for a spec)")] = None,
            models: Annotated[Optional[List[Path]], typer.Option("--models", help="a run folder (spec.yaml + "
                                                                 "weights.pt) or an .onnx; repeat to compare")] = None,
            pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
            split: Annotated[str, typer.Option(help="the split of a dataset folder")] = "val",
            images: Annotated[Optional[int], typer.Option("--images", help="at most N images per folder")] = None,
            format: FormatOpt = None,
            force: Annotated[bool, typer.Option(help="replace a folder archc wrote before")] = False,
            json_: JsonOpt = False):
    """Colour masks, overlays and a labelled contact sheet (image | ground truth | each model's prediction)."""
    from archc.train import predict as pr

    if models:
        loaded = [pr.from_onnx(m) if m.suffix == ".onnx" else pr.from_run(m) for m in models]
    else:
        if len(items) < 2:
            raise ArchcError("give a model (SPEC or MODEL.onnx) and at least one image or folder, or --models")
        target, items = Path(items[0]), items[1:]
        loaded = [_predict_model(target, weights, pass_, input, var)]
    if len({m.classes for m in loaded}) > 1:
        raise ArchcError(f"--models: the models have {sorted({m.classes for m in loaded})} classes; compare "
                         f"models of one dataset")
    found, names, palette = pr.sources(items, loaded[0].classes, split, format, images)
    summary = pr.predict(loaded, found, names, palette, out, force)
    if json_:
        print(json.dumps(summary))
        return
    for m in summary["models"]:
        miou = "-" if m["miou"] is None else f"{100 * m['miou']:.1f}% ({m['miou_on']})"
        print(f"{m['label']}: mIoU {miou}")
    print(f"wrote {summary['images']} images x {len(loaded)} models to {out} (sheet: {out / 'sheet.png'})")


def _predict_model(target: Path, weights, pass_, input, var):
    from archc.train import predict as pr

    if target.suffix == ".onnx":
        if weights or pass_ or input or var:
            raise ArchcError(f"{target}: --weights, --pass, --input and --var apply to a spec, not an .onnx model")
        return pr.from_onnx(target)
    if weights is None:
        raise ArchcError(f"{target}: a spec needs --weights CKPT (e.g. RUN/weights.pt from archc train)")
    compiled = _compile(target, pass_, input, var)
    label = " ".join([compiled.spec.name, *(pass_ or [])])
    return pr.from_compiled(label, compiled, weights, pr._final_miou(Path(weights).parent))
