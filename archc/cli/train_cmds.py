"""Commands that make data, train and score: data synth, train, eval."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

import archc.app as calls
from archc.cli.app import InputOpt, JsonOpt, PassOpt, RecipeOpt, SpecArg, VarOpt, app, boundary, hooks, source

data_app = typer.Typer(no_args_is_help=True, help="Datasets: make a synthetic one.")
app.add_typer(data_app, name="data")
DataOpt = Annotated[Path, typer.Option("--data", help="dataset folder: DIR/{train,val}/{images,masks}, "
                                                      "DIR/{images,masks} or Pascal VOC")]
SeedOpt = Annotated[int, typer.Option("--seed", help="random seed (data order, crops, init)")]


@data_app.command("synth")
@boundary
def synth(out: Annotated[Path, typer.Argument(help="folder to write", show_default=False)],
          classes: Annotated[int, typer.Option(help="model classes (1: one object class on background)")] = 4,
          images: Annotated[int, typer.Option(help="images in all; 20% go to val")] = 200,
          size: Annotated[str, typer.Option(help="HxW")] = "128x128", seed: SeedOpt = 0,
          force: Annotated[bool, typer.Option(help="replace a folder archc wrote before")] = False):
    """Write a deterministic synthetic segmentation set (textured shapes on clutter) to OUT/{train,val}."""
    from archc.cli import render_train

    render_train.synth(calls.synth(calls.Synth(out, classes, images, size, seed, force)), out)


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

    request = calls.Train(source(spec, pass_, input, var, recipe), data, epochs, out, batch, lr, optimizer, schedule,
                          augment, weights, from_parent, gradual_groups, resume, seed, threads)
    state = calls.train(request, hooks())
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
          json_: JsonOpt = False):
    """mIoU, per-class IoU and pixel accuracy of a trained spec or an ONNX model (in ONNX Runtime)."""
    from archc.cli import render_train

    request = calls.Eval(target, data, weights, source(target, pass_, input, var), split, quantize, out)
    results = calls.evaluate(request, hooks())
    if json_:
        print(json.dumps(next(iter(results.values())) if len(results) == 1 else results))
        return
    render_train.scores(results)
