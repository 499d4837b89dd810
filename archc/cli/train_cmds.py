"""Commands that make data, train and score: data synth, train, eval."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

import archc.app as calls
from archc.errors import ArchcError
from archc.cli.app import InputOpt, JsonOpt, PassOpt, RecipeOpt, SpecArg, VarOpt, app, boundary, hooks, source

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


@data_app.command("synth")
@boundary
def synth(out: Annotated[Path, typer.Argument(help="folder to write", show_default=False)],
          classes: Annotated[int, typer.Option(help="model classes (1: one object class on background)")] = 4,
          images: Annotated[int, typer.Option(help="images in all; 20% go to val")] = 200,
          size: Annotated[str, typer.Option(help="HxW")] = "128x128", seed: SeedOpt = 0,
          force: Annotated[bool, typer.Option(help="replace a folder archc wrote before")] = False,
          kind: Annotated[str, typer.Option(help="stripes (classes by stripe period and angle) or scenes "
                                                 "(classes by shape and pattern, at any scale)")] = "stripes"):
    """Write a deterministic synthetic segmentation set (textured shapes on clutter) to OUT/{train,val}."""
    from archc.cli import render_train

    render_train.synth(calls.synth(calls.Synth(out, classes, images, size, seed, force, kind)), out)


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
          qat: Annotated[bool, typer.Option("--qat", help="fine-tune --weights with fake quantization on the "
                                            "grid of --pass quantize=int8[,per_channel=false] (default: its "
                                            "defaults); then OUT/model.int8.onnx (docs/quantization.md)")] = False,
          json_: JsonOpt = False):
    """Train SPEC (after passes) on DATA; after every epoch OUT/checkpoint.pt, weights.pt and metrics.json."""
    from archc.cli import render_train

    request = calls.Train(source(spec, pass_, input, var, recipe), data, epochs, out, batch, lr, optimizer, schedule,
                          augment, weights, from_parent, gradual_groups, resume, seed, threads, crop, scale, jitter,
                          loss, class_weights, format, device, amp, tensorboard, qat)
    state = calls.train(request, hooks())
    if json_:
        print(json.dumps(state))
        return
    render_train.epochs(state)


@app.command("eval")
@boundary
def eval_(target: Annotated[Path, typer.Argument(help="a spec, an .onnx or a .tflite model", show_default=False)],
          data: DataOpt, weights: Annotated[Optional[Path], typer.Option(help="checkpoint (for a spec)")] = None,
          pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
          split: Annotated[str, typer.Option(help="train or val")] = "val",
          quantize: Annotated[Optional[str], typer.Option(help="int8, fp16 or dynamic: also export and quantize "
                                                          "the trained model; score both in ONNX Runtime")] = None,
          out: Annotated[Optional[Path], typer.Option("--out", "-o", help="keep the --quantize models here")] = None,
          format: FormatOpt = None, inference: InferOpt = "auto", flip: FlipOpt = False, scales: ScalesOpt = None,
          confusion: Annotated[Optional[Path], typer.Option(help="write the confusion matrix as a PNG")] = None,
          json_: JsonOpt = False):
    """mIoU, per-class IoU and pixel accuracy of a trained spec, an ONNX model (in ONNX Runtime) or a .tflite
    model (in LiteRT), each image at full resolution (whole, or in sliding windows for a fixed input size)."""
    from archc.cli import render_train

    request = calls.Eval(target, data, weights, source(target, pass_, input, var), split, quantize, out, format,
                         inference, flip, scales, confusion)
    results = calls.evaluate(request, hooks())
    if json_:
        print(json.dumps(next(iter(results.values())) if len(results) == 1 else results))
        return
    render_train.scores(results)


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
    if models:
        request = calls.Predict(tuple(models), tuple(items), out, None, weights, split, images, format, force)
    elif len(items) < 2:
        raise ArchcError("give a model (SPEC or MODEL.onnx) and at least one image or folder, or --models")
    else:
        request = calls.Predict((), tuple(items[1:]), out, source(Path(items[0]), pass_, input, var), weights, split,
                                images, format, force)
    summary = calls.predict_masks(request, hooks())
    if json_:
        print(json.dumps(summary))
        return
    for m in summary["models"]:
        miou = "-" if m["miou"] is None else f"{100 * m['miou']:.1f}% ({m['miou_on']})"
        print(f"{m['label']}: mIoU {miou}")
    print(f"wrote {summary['images']} images x {len(summary['models'])} models to {out} (sheet: {out / 'sheet.png'})")
