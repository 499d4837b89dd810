"""One frozen value per command: what it is asked to do, with the CLI's defaults. Each is the argument of the
function of the same name in lower case (`archc.app.build(Build(...))`); see archc/app/__init__.py.

    Build(Source("fastscnn", passes=("width=0.5",)), out=Path("out/f"), weights=Weights(Path("w.pt")))
    Sweep(Source("fastscnn"), grid=("width=1,0.5,0.25",), out=Path("runs/s"))
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archc.app.values import Device, Source, Timing, Weights


@dataclass(frozen=True)
class Validate:
    spec: str | Path


@dataclass(frozen=True)
class Summary:
    source: Source
    weights: Weights = Weights()
    latency_model: Path | None = None  # a model file from `latency fit`: predict, run nothing


@dataclass(frozen=True)
class Graph:
    source: Source
    format: str | None = None  # dot, mermaid, png, svg (default: from output's suffix, else dot)
    output: Path | None = None  # None: the text is returned, nothing written
    expand: bool = False  # every primitive, blocks as clusters


@dataclass(frozen=True)
class Explain:
    source: Source
    latency: bool = False  # measured ms per row and primitive (ONNX Runtime, per layer)


@dataclass(frozen=True)
class Diff:
    a: Source
    b: Source


@dataclass(frozen=True)
class Ops:
    name: str | None = None  # one op or block in full; None: all of them


@dataclass(frozen=True)
class Build:
    source: Source
    out: Path = Path("out")
    force: bool = False  # write into an existing folder archc did not make
    dynamic_batch: bool = False
    dynamic_hw: bool = False  # refused unless provably correct
    calib: Path | None = None  # calibration images for quantize=int8
    profile: bool = False  # time the models; latency into summary.json
    timing: Timing = Timing()
    weights: Weights = Weights()
    device: Device = Device()
    simplifier: str | None = None  # onnxslim or onnxsim
    note: str = ""  # spec.yaml's header line (default: how the API was called)
    format: str = "onnx"  # onnx, tflite (LiteRT: archc[litert]) or all


@dataclass(frozen=True)
class Profile:
    target: str | Path  # a spec (compiled from `source`'s passes), an .onnx model or a build folder
    source: Source | None = None  # passes, input, variables for a spec (None: none)
    runtime: str = "ort"  # ort, torch, both, openvino or ncnn
    timing: Timing = Timing(runs=50, warmup=10)
    calib: Path | None = None
    weights: Weights = Weights()
    device: Device = Device()


@dataclass(frozen=True)
class Benchmark:
    source: Source
    timing: Timing = Timing()


@dataclass(frozen=True)
class LatencyFit:
    source: Source  # spec and variables (the probes are the grid's configurations)
    out: Path
    grid: tuple = ()  # NAME=V1,V2 as in sweep (empty: the default probes)
    timing: Timing = Timing(runs=20)
    device: Device = Device()
    jobs: int = 0  # export workers
    measurements: Path | None = None  # a CSV of end-to-end timings: fit on them, nothing runs (docs/latency.md)


@dataclass(frozen=True)
class Sweep:
    source: Source  # spec, input and variables (the grid gives the passes)
    grid: tuple  # NAME=V1,V2,... per pass; `none` leaves it out
    out: Path | None = None  # results.csv/json and a cache
    jobs: int = 0
    force: bool = False
    profile: bool = False  # ONNX Runtime latency per configuration
    timing: Timing = Timing()
    device: Device = Device()
    latency_model: Path | None = None
    train: int | None = None  # EPOCHS per valid configuration (adds miou); needs data
    data: Path | None = None
    executor: str = "local"  # local or ray
    address: str | None = None  # a running Ray cluster
    plot: str | None = None  # X,Y: also OUT/pareto.png and .svg
    better: str | None = None  # low|high,low|high for plot's axes
    predict: int | None = None  # with train: OUT/predict/sheet.png of N val images across the trained models


@dataclass(frozen=True)
class Pareto:
    results: Path  # a sweep's results.csv or .json
    axes: str = "macs,fps"
    quality: Path | None = None  # CSV with a config column and quality columns
    output: Path | None = None  # FILE.png, FILE.svg, or a stem for both (default: beside results)
    better: str | None = None
    flag: str = "--axes"  # how an error names the axes option
    epochs: int | None = None  # epochs the quality column was trained for (in the title)


@dataclass(frozen=True)
class Synth:
    out: Path
    classes: int = 4
    images: int = 200
    size: str = "128x128"  # HxW
    seed: int = 0
    force: bool = False
    kind: str = "stripes"  # stripes (classes by stripe period) or scenes (classes that hold at any scale)


@dataclass(frozen=True)
class Train:
    source: Source
    data: Path
    epochs: int
    out: Path
    batch: int = 8
    lr: float | None = None
    optimizer: str = "adamw"
    schedule: str = "cosine"
    augment: bool = True
    weights: Path | None = None  # start from this checkpoint
    from_parent: Path | None = None  # a parent's checkpoint (same spec without width) carried in
    gradual_groups: int | None = None
    resume: bool = False
    seed: int = 0
    threads: int = 1
    crop: str | None = None  # HxW training crop (default: the spec's input)
    scale: str | None = None  # LOW-HIGH random scale, or none
    jitter: float = 0.0  # photometric jitter
    loss: str = "ce"  # ce or ohem
    class_weights: bool = False
    format: str | None = None  # the dataset layout (default: detected)
    device: str = "auto"
    amp: bool = True
    tensorboard: bool = False
    qat: bool = False  # fine-tune --weights with fake quantization; RUN/model.int8.onnx at the end


@dataclass(frozen=True)
class Eval:
    target: str | Path  # a spec or an .onnx model
    data: Path
    weights: Path | None = None  # required for a spec
    source: Source | None = None  # passes, input, variables for a spec
    split: str = "val"
    quantize: str | None = None  # int8, fp16 or dynamic: also score the quantized model
    out: Path | None = None  # keep the quantized models here
    format: str | None = None  # the dataset layout (default: detected)
    inference: str = "auto"  # auto, whole or slide
    flip: bool = False
    scales: str | None = None  # multi-scale inference, e.g. 0.75,1,1.25
    confusion: Path | None = None  # write the confusion matrix as a PNG


@dataclass(frozen=True)
class Predict:
    models: tuple  # run folders (spec.yaml + weights.pt) or .onnx files; or empty with `source` + `weights`
    images: tuple  # image files, image folders or dataset folders
    out: Path
    source: Source | None = None  # a spec (with passes, input, variables) scored with `weights`
    weights: Path | None = None
    split: str = "val"
    limit: int | None = None  # at most N images per folder
    format: str | None = None
    force: bool = False


@dataclass(frozen=True)
class Search:
    source: Source  # spec and variables (the space gives the passes)
    space: Path
    objectives: tuple  # COL[:min|max]
    out: Path
    budgets: tuple = ()  # COL<=X or COL>=X
    sampler: str = "tpe"
    trials: int | None = None
    train: int | None = None  # EPOCHS per trial (miou); needs data
    data: Path | None = None
    storage: str | None = None
    seed: int = 0
    runs: int = 30
    runtime: str = "ort"  # ort or torch
    build: bool = True  # export and verify the winner into OUT/winner/
    executor: str = "local"
    address: str | None = None
    jobs: int = 0
    warmup: int = 5  # untimed runs before each latency measurement
    threads: int = 1
    latency_model: Path | None = None  # predict latency with a model file or a shipped device (no export)
    device: Device = Device()  # measure latency on [USER@]HOST over SSH
    join: bool = False  # work on a --storage study another archc search is running (each with its own out)


@dataclass(frozen=True)
class QuantizeReport:
    source: Source  # a spec (with passes, input, variables) or a training run folder
    weights: Path | None  # its trained checkpoint (required)
    data: Path  # a dataset with train (calibration) and val (scores) splits
    out: Path | None = None  # report.csv, report.json, masks/sheet.png and the models
    qat: Path | None = None  # a run of `archc train --qat` (its weights.pt) or its checkpoint: int8 QAT rows
    images: int = 4  # val images in masks/sheet.png
    samples: int = 32  # train images calibrating int8
    timing: Timing = Timing()
