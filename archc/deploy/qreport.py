"""`archc quantize-report`: what each precision costs a trained model, in each runtime, in one table. The
model with its checkpoint is built once (ONNX exported and verified against PyTorch; with the litert extra,
.tflite converted and verified too), quantized to fp16, dynamic and int8 for ONNX Runtime and LiteRT (int8
calibrated on the dataset's train images, normalized as the spec says), and every variant is scored on the
validation split (the code of `archc eval`), timed with the runs of all variants interleaved (the rule of
`archc benchmark`) and compared with the float32 ONNX model on the same val images. With QAT weights
(`archc train --qat`), their int8 models get rows of their own.

    archc quantize-report specs/fastscnn.yaml --weights run/weights.pt --data data/synth --out qr
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from archc.deploy.artifacts import BuildOptions, produce
from archc.errors import ArchcError

MODES = ("fp16", "dynamic", "int8")
COMPARED = 64  # val images the outputs are compared on (max |diff|)
COLUMNS = ("format", "runtime", "weights", "file", "bytes", "median_ms", "pixel_accuracy", "miou", "miou_change",
           "max_abs_diff", "status", "reason")


@dataclass(frozen=True)
class Plan:
    """What to build and how to score and time it."""

    data: Path  # a dataset with train and val splits
    images: int = 4  # val images in the masks sheet
    samples: int = 32  # train images calibrating int8
    threads: int = 1
    warmup: int = 5
    runs: int = 30
    progress: object = None
    quantize: object = None  # a quantize=int8 pass: its act, per_channel and reduce_range (None: the defaults)

    def qpass(self, mode: str):
        """The QuantizePass of `mode` built here: the given pass's settings where the mode has them."""
        from archc.passes.quantize import QuantizePass

        q = self.quantize or QuantizePass("int8")
        if mode == "int8":
            return QuantizePass(mode, self.samples, q.act, q.per_channel, q.reduce_range)
        return QuantizePass(mode, self.samples, per_channel=q.per_channel)


@dataclass
class Variant:
    format: str  # fp32, fp16, dynamic, int8
    runtime: str  # onnxruntime or litert
    weights: str  # ptq (the checkpoint as given) or qat
    path: Path | None = None
    reason: str | None = None  # why there is no model


def variants(compiled, modules: dict, folder: Path, plan: Plan, litert_reason: str | None) -> list[Variant]:
    """Every model file: {"ptq": module, "qat": module} -> fp32 and each mode (QAT: int8 only) per runtime."""
    from archc.deploy.tflite import add_tflite
    from archc.onnx.quantize import quantize
    from archc.train.quality import calib_images

    shape, norm = compiled.graph.input_shape, compiled.spec.normalization()
    calib = calib_images(plan.data, plan.samples)
    out = []
    for kind, module in modules.items():
        sub = folder / kind
        sub.mkdir(parents=True)
        product = produce(compiled, sub, BuildOptions(module=module))
        modes = MODES if kind == "ptq" else ("int8",)
        onnx = {"fp32": product.models["float32"]}
        for mode in modes:
            onnx[mode] = quantize(onnx["fp32"], plan.qpass(mode), shape, calib if mode == "int8" else None,
                                  normalize=norm).path
        out += [Variant(m, "onnxruntime", kind, onnx[m]) for m in (("fp32",) if kind == "ptq" else ()) + modes]
        reason = litert_reason
        if reason is None:
            try:
                add_tflite(product, compiled, sub, BuildOptions())
                tfl = {"fp32": product.tflite["float32"]}
                for mode in modes:
                    tfl[mode] = _tflite(tfl["fp32"], plan.qpass(mode), shape, calib, norm)
            except ArchcError as exc:  # a converter's refusal: LiteRT's rows say it, ORT's stand
                reason = exc.message
        out += [Variant(m, "litert", kind, None if reason else tfl[m], reason)
                for m in (("fp32",) if kind == "ptq" else ()) + modes]
    return out


def _tflite(fp32: Path, qpass, shape, calib, norm) -> Path:
    from archc.litert.quantize import quantize

    return quantize(fp32, qpass, shape, calib if qpass.mode == "int8" else None, norm)[0]


def report(compiled, modules: dict, folder: Path, plan: Plan, litert_reason: str | None = None) -> dict:
    """Build every variant into `folder`, score, compare and time them: {"rows": [...], "reference": ...,
    "timing": ..., "images": n}; rows in COLUMNS (miou_change in points, both comparisons against the
    float32 ONNX model)."""
    from archc.train.evaluate import Inference, evaluate_onnx, evaluate_tflite

    found = variants(compiled, modules, folder, plan, litert_reason)
    norm = compiled.spec.normalization()
    ready = [v for v in found if v.path is not None]
    scores = {v.path: (evaluate_onnx if v.runtime == "onnxruntime" else evaluate_tflite)(
        v.path, plan.data, Inference(normalize=norm, threads=plan.threads)) for v in ready}
    xs = _val_inputs(compiled, plan.data, norm)
    ref_path = ready[0].path  # the float32 ONNX model of the checkpoint as given
    ref_out = _outputs(ready[0], xs)
    diffs = {v.path: max(float(np.max(np.abs(a - b))) for a, b in zip(_outputs(v, xs), ref_out)) for v in ready}
    timed = _timed(ready, plan)
    ref = scores[ref_path]
    rows = [_row(v, scores.get(v.path), ref, diffs.get(v.path), timed.get(v.path)) for v in found]
    return {"rows": rows, "reference": "fp32 onnxruntime (ptq)", "images": ref["images"],
            "quantize": plan.qpass("int8").describe(),
            "classes": ref["classes"], "timing": {"threads": plan.threads, "warmup": plan.warmup, "runs": plan.runs,
                                                  "clock": "wall (time.perf_counter), as archc benchmark"},
            "compared_on": f"{len(xs)} val images at the model's input size"}


def _row(v: Variant, score, ref, diff, ms) -> dict:
    row = {"format": v.format, "runtime": v.runtime, "weights": v.weights,
           "file": None if v.path is None else f"{v.weights}/{v.path.name}"}
    if v.path is None:
        return {**row, **{k: None for k in COLUMNS[4:10]}, "status": "skipped", "reason": v.reason}
    change = None if score["miou"] is None or ref["miou"] is None else round(100 * (score["miou"] - ref["miou"]), 3)
    return {**row, "bytes": v.path.stat().st_size, "median_ms": ms, "pixel_accuracy": score["pixel_accuracy"],
            "miou": score["miou"], "miou_change": change, "max_abs_diff": round(diff, 6), "status": "ok",
            "reason": None}


def _val_inputs(compiled, data, norm) -> list:
    """The first COMPARED val images resized to the model's input and normalized (as calibration images are)."""
    from archc.onnx.calib import load
    from archc.train.datasets import find_pairs

    return [load(image, compiled.graph.input_shape, norm)[None] for image, _ in find_pairs(data, "val")[:COMPARED]]


def _outputs(v: Variant, xs: list) -> list:
    """The first output of `v` for each input, float32."""
    if v.runtime == "litert":
        from archc.litert.interpreter import Model

        model = Model(v.path)
        return [model.run(x)[0] for x in xs]
    from archc.onnx import runtime

    sess = runtime.session(v.path, 1)
    return [runtime.run_ort(sess, x)[0] for x in xs]


def _timed(ready: list, plan: Plan) -> dict:
    """Median ms of each model, all runs interleaved (archc.measure.profile, as `archc benchmark` times)."""
    from archc.deploy.tflite import runners as tflite_runners
    from archc.measure import profile as prof

    runners = {}
    for v in ready:
        runners[v.path] = (prof.ort_runner(v.path, plan.threads, v.path.name) if v.runtime == "onnxruntime"
                           else tflite_runners({v.format: v.path}, plan.threads)[v.path.name])
    timed = prof.measure(runners, plan.warmup, plan.runs, plan.progress)
    return {path: t["median_ms"] for path, t in timed.items()}


def csv_text(rows: list) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def sheet(compiled, result: dict, folder: Path, plan: Plan, out: Path) -> None:
    """OUT (a folder of `archc predict`'s kind): the same val images through every variant, the sheet
    labelled with each variant and its val mIoU."""
    from archc.train import predict as pr

    models = []
    for r in result["rows"]:
        if r["status"] != "ok":
            continue
        path = folder / r["file"]
        model = pr.from_onnx(path) if r["runtime"] == "onnxruntime" else pr.from_tflite(path)
        label = f"{r['format']} {'ORT' if r['runtime'] == 'onnxruntime' else 'LiteRT'}" + (
            " QAT" if r["weights"] == "qat" else "")
        models.append(replace(model, label=label, miou=r["miou"], normalize=compiled.spec.normalization()))
    found, names, palette = pr.sources([plan.data], models[0].classes, "val", limit=plan.images)
    pr.predict(models, found, names, palette, out)


def write(result: dict, tmp: Path) -> None:
    """report.json and report.csv into an output folder's temporary (archc.fs.atomic_dir)."""
    (tmp / "report.json").write_text(json.dumps(result, indent=1) + "\n")
    (tmp / "report.csv").write_text(csv_text(result["rows"]))
