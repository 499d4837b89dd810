"""Commands that make data, train and score: data synth, train, eval."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from archc.cli.app import InputOpt, JsonOpt, PassOpt, RecipeOpt, SpecArg, VarOpt, _compile, app, boundary
from archc.errors import ArchcError

data_app = typer.Typer(no_args_is_help=True, help="Datasets: make a synthetic one.")
app.add_typer(data_app, name="data")
DataOpt = Annotated[Path, typer.Option("--data", help="dataset folder: DIR/{train,val}/{images,masks}, "
                                                      "DIR/{images,masks} or Pascal VOC")]
SeedOpt = Annotated[int, typer.Option("--seed", help="random seed (data order, crops, init)")]


def _size(text: str) -> tuple:
    h, sep, w = text.lower().partition("x")
    if not sep or not h.strip().isdigit() or not w.strip().isdigit():
        raise ArchcError(f"--size {text}: expected HxW, e.g. 128x128")
    return int(h), int(w)


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
          augment: Annotated[bool, typer.Option(help="random flips and crops")] = True,
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

    config = Config(epochs, batch, lr, optimizer, schedule, augment=augment, seed=seed, threads=threads)
    c = _compile(spec, pass_, input, var, recipe)
    parent = None
    if from_parent is not None:  # the parent: the same spec and passes without the width pass
        narrow = [p for p in pass_ or [] if not p.strip().startswith("width")]
        parent = (_compile(spec, narrow, input, var, recipe), from_parent)
    with render_train.training(epochs) as progress:
        state = train_spec(c, data, config, out, weights, parent, gradual_groups, resume, progress)
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
          json_: JsonOpt = False):
    """mIoU, per-class IoU and pixel accuracy of a trained spec, an ONNX model (in ONNX Runtime) or a .tflite
    model (in LiteRT)."""
    from archc.cli import render_train

    if target.suffix in (".onnx", ".tflite"):
        if weights or pass_ or input or var or quantize:
            raise ArchcError(f"{target}: --weights, --pass, --input, --var and --quantize apply to a spec, "
                             f"not an {target.suffix} model")
        from archc.train.evaluate import evaluate_onnx, evaluate_tflite

        score = evaluate_tflite if target.suffix == ".tflite" else evaluate_onnx
        results = {target.name: score(target, data, split)}
    elif weights is None:
        raise ArchcError(f"{target}: a spec needs --weights CKPT (e.g. RUN/weights.pt from archc train)")
    else:
        results = _eval_spec(_compile(target, pass_, input, var), weights, data, split, quantize, out)
    if json_:
        print(json.dumps(next(iter(results.values())) if len(results) == 1 else results))
        return
    render_train.scores(results)


def _eval_spec(compiled, weights, data, split, quantize, out) -> dict:
    import tempfile

    from archc.train import evaluate, quality

    if quantize is None:
        return {compiled.spec.name: evaluate.evaluate_checkpoint(compiled, weights, data, split)}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        return quality.quantized_quality(compiled, weights, data, quantize, out)
    with tempfile.TemporaryDirectory() as tmp:
        return quality.quantized_quality(compiled, weights, data, quantize, tmp)
