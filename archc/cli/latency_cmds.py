"""Commands about latency beyond `profile`: benchmark (every runtime) and latency fit (a latency model)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

import archc.app as calls
from archc.cli.app import InputOpt, JsonOpt, PassOpt, SpecArg, ThreadsOpt, VarOpt, app, boundary, hooks, source
from archc.cli.device_opts import HostOpt, IdentityOpt, RemotePythonOpt, SshConfigOpt, device

MeasurementsOpt = Annotated[Optional[Path], typer.Option("--measurements", help="a CSV of end-to-end timings "
                            "(pass columns or a passes column, and latency_ms): fit on them, nothing runs")]
RunsOpt = Annotated[int, typer.Option(help="timed runs per runtime")]
WarmupOpt = Annotated[int, typer.Option(help="untimed runs first")]


@app.command()
@boundary
def benchmark(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
              threads: ThreadsOpt = 1, runs: RunsOpt = 30, warmup: WarmupOpt = 5, json_: JsonOpt = False):
    """Build SPEC once and time it in every installed runtime (ONNX Runtime, PyTorch, OpenVINO, ncnn, LiteRT),
    each verified against PyTorch first: size, median latency, max difference, ratio to ORT; with
    --pass quantize=MODE the quantized models too. Names the fastest float32 runtime."""
    from archc.cli import render, render_latency

    rows = calls.benchmark(calls.Benchmark(source(spec, pass_, input, var), calls.Timing(threads, runs, warmup)),
                           hooks())
    if json_:
        print(json.dumps(rows))
        return
    render_latency.benchmark(rows)
    for line in calls.recommend(rows):
        render.message(line)


@app.command("quantize-report")
@boundary
def quantize_report(spec: SpecArg, pass_: PassOpt = None, input: InputOpt = None, var: VarOpt = None,
                    weights: Annotated[Optional[Path], typer.Option(help="the trained checkpoint (RUN/weights.pt)")]
                    = None,
                    data: Annotated[Path, typer.Option(help="dataset: train images calibrate int8, val scores")]
                    = Path("data"),
                    qat: Annotated[Optional[Path], typer.Option(help="a run of archc train --qat (or its weights): "
                                                                     "int8 QAT rows")] = None,
                    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="report.csv, report.json, "
                                                                "masks/sheet.png and the models")] = None,
                    images: Annotated[int, typer.Option(help="val images in masks/sheet.png")] = 4,
                    samples: Annotated[int, typer.Option(help="train images calibrating int8")] = 32,
                    threads: ThreadsOpt = 1, runs: RunsOpt = 30, warmup: WarmupOpt = 5, json_: JsonOpt = False):
    """A trained model in fp32, fp16, dynamic and int8, in ONNX Runtime and LiteRT (the litert extra): size,
    median latency (interleaved, as benchmark), pixel accuracy, mIoU and its change, max output difference,
    all against the float32 ONNX model on the val split; --qat RUN adds the int8 models of QAT weights."""
    from archc.cli import render_litert

    request = calls.QuantizeReport(source(spec, pass_, input, var), weights, data, out, qat, images, samples,
                                   calls.Timing(threads, runs, warmup))
    result = calls.quantize_report(request, hooks(quiet_weights=json_))
    if json_:
        print(json.dumps(result))
        return
    render_litert.quantize_report(result, out)


latency_app = typer.Typer(no_args_is_help=True, help="Latency models: fit per-op costs on a device, then predict.")
app.add_typer(latency_app, name="latency")


@latency_app.command("fit")
@boundary
def latency_fit(spec: SpecArg,
                out: Annotated[Path, typer.Option("--out", "-o", help="the model file to write (JSON)")],
                grid: Annotated[Optional[List[str]], typer.Option(
                    "--grid", "-g", help="probe configurations, as in sweep [width=1,0.5,0.25,0.125 "
                                         "input=3x512x512,3x384x384,3x256x256,3x192x192]")] = None,
                var: VarOpt = None, threads: ThreadsOpt = 1, runs: RunsOpt = 20, warmup: WarmupOpt = 5,
                host: HostOpt = None, identity: IdentityOpt = None, ssh_config: SshConfigOpt = None,
                remote_python: RemotePythonOpt = None, jobs: Annotated[int, typer.Option(help="export workers")] = 0,
                measurements: MeasurementsOpt = None):
    """Profile probe configurations of SPEC per layer (here or on --host) and fit per-op-kind costs
    (per layer, per MAC, per byte moved); or, with --measurements, fit them on end-to-end timings taken
    anywhere (docs/latency.md). `--latency-model MODEL.json` on summary, sweep and search predicts with it."""
    from archc.cli import render, render_latency

    request = calls.LatencyFit(source(spec, None, None, var), out, tuple(grid or ()),
                               calls.Timing(threads, runs, warmup), device(host, identity, ssh_config, remote_python),
                               jobs, measurements)
    fitted = calls.latency_fit(request, hooks())
    if measurements is None:
        render_latency.fitted(fitted, out)
    else:
        render_latency.measured_fit(fitted)
        if fitted["unsupported"]:
            render.message(f"warning: these rows cannot support the model: {'; '.join(fitted['unsupported'])}")
    render.message(f"wrote {out}")


@app.command()
@boundary
def devices(json_: JsonOpt = False):
    """The device latency models that ship with archc (use one with --latency-model NAME): what each
    was fitted on and its cross-validated error."""
    from archc.cli import render_latency

    rows = calls.devices()
    if json_:
        print(json.dumps(rows))
        return
    render_latency.devices(rows)
