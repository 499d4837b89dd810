"""What int8 post-training quantization costs a trained model, and whether quantization-aware training wins
it back (issue 25): Fast-SCNN at width 0.125 (wide activation ranges for 8 bits), 6 classes, 3x96x96, trained
from scratch on `archc data synth` images; then

- PTQ: `archc quantize-report` of that checkpoint (ORT and LiteRT int8, calibrated on 32 train images);
- QAT: `archc train --qat --weights` for a few more epochs, its int8 models in the same report (`--qat`);
- control: the same extra epochs without fake quantization (so that QAT is not credited with what more
  training alone gives), PTQ'd the same way.

    nice -n 10 python benchmarks/qat.py [--epochs 8] [--qat-epochs 3] [--images 300] [--out /tmp/archc-qat]

Writes benchmarks/qat.md (the tables, the method, the machine's load) and qat.json (every row). Use the
litert venv for the LiteRT rows (archc[litert]); without it they say why.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from archc import api

ROOT = Path(__file__).resolve().parent
SPEC = "fastscnn"


def source(width: str) -> api.Source:
    return api.Source(SPEC, (f"width={width}",) if width != "1" else (), "3x96x96", {"classes": 6})


def train(data: Path, out: Path, epochs: int, weights=None, qat=False, lr=None, width="1") -> dict:
    return api.train(api.Train(source(width), data, epochs, out, batch=8, lr=lr, weights=weights, qat=qat, seed=0))


def report(weights: Path, data: Path, qat=None, width="1") -> dict:
    return api.quantize_report(api.QuantizeReport(source(width), weights, data, qat=qat, timing=api.Timing(1, 20, 5)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--qat-epochs", type=int, default=3)
    ap.add_argument("--images", type=int, default=480)
    ap.add_argument("--width", default="1")
    ap.add_argument("--out", type=Path, default=Path("/tmp/archc-qat"))
    ap.add_argument("--render", action="store_true", help="only write qat.md again from qat.json")
    a = ap.parse_args()
    if a.render:
        (ROOT / "qat.md").write_text(markdown(json.loads((ROOT / "qat.json").read_text())["cases"]))
        return
    start, cpu0, load0 = time.time(), time.process_time(), os.getloadavg()
    data = a.out / "data"
    if not data.exists():
        api.synth(api.Synth(data, classes=6, images=a.images, size="96x96", seed=0))
    base = a.out / "fp32"
    if not (base / "weights.pt").exists():
        train(data, base, a.epochs, width=a.width)
    runs = {"qat": True, "control": False}
    for name, qat in runs.items():
        if not (a.out / name / "weights.pt").exists():
            train(data, a.out / name, a.qat_epochs, base / "weights.pt", qat, lr=1e-4, width=a.width)
    main_report = report(base / "weights.pt", data, qat=a.out / "qat", width=a.width)
    control = report(a.out / "control" / "weights.pt", data, width=a.width)
    result = {"main": main_report, "control": control, "epochs": a.epochs, "qat_epochs": a.qat_epochs,
              "images": a.images, "width": a.width, "seconds": round(time.time() - start), "cpu_s": round(time.process_time() - cpu0),
              "load": [load0, os.getloadavg()], "machine": f"{platform.processor() or platform.machine()}, "
                                                          f"{os.cpu_count()} cores"}
    save(result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("main", "control")}))


def save(result: dict) -> None:
    """This case into qat.json (one case per width, others kept) and qat.md from all of them."""
    path = ROOT / "qat.json"
    saved = json.loads(path.read_text()) if path.exists() else {"cases": {}}
    cases = saved.get("cases", {saved.get("width"): saved})  # a file of one case (an older run) is that case
    cases[result["width"]] = result
    path.write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    (ROOT / "qat.md").write_text(markdown(cases))


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _pt(v) -> str:
    return "-" if v is None else f"{v:+.2f}"


def table(rows: list, label: str) -> list:
    out = []
    for r in rows:
        name = f"{r['format']}{' QAT' if r['weights'] == 'qat' else ''}"
        if r["status"] != "ok":
            out.append(f"| {label} | {name} | {r['runtime']} | - | - | - | - | - | - ({r['reason']}) |")
            continue
        out.append(f"| {label} | {name} | {r['runtime']} | {r['bytes'] / 1e3:.1f} | {r['median_ms']:.3f} | "
                   f"{_pct(r['pixel_accuracy'])} | {_pct(r['miou'])} | {_pt(r['miou_change'])} | "
                   f"{r['max_abs_diff']:.3g} |")
    return out


def verdict(result: dict) -> list:
    """The issue's goal, judged per runtime from the rows: QAT within 0.5 point of fp32 where PTQ loses > 1."""
    rows = {(r["format"], r["runtime"], r["weights"]): r for r in result["main"]["rows"]}
    control = {(r["format"], r["runtime"]): r for r in result["control"]["rows"]}
    ref = rows[("fp32", "onnxruntime", "ptq")]["miou"]
    lines = []
    for rt in ("onnxruntime", "litert"):
        ptq, qat, ctl = rows.get(("int8", rt, "ptq")), rows.get(("int8", rt, "qat")), control.get(("int8", rt))
        if not ptq or ptq["status"] != "ok" or not qat or qat["status"] != "ok":
            lines.append(f"- {rt}: no int8 rows ({(ptq or {}).get('reason')})")
            continue
        drop, qdrop = ptq["miou_change"], qat["miou_change"]
        cdrop = 100 * (ctl["miou"] - ref) if ctl and ctl["status"] == "ok" else float("nan")
        goal = ("PTQ loses no more than 1 point here, so this case does not test the goal (QAT within 0.5 "
                "point of fp32 where PTQ loses more than 1)" if drop >= -1 else
                f"the goal (QAT within 0.5 point of fp32 where PTQ loses more than 1) is "
                f"{'met' if qdrop >= -0.5 else 'NOT met'}")
        lines.append(f"- {rt}: mIoU change against fp32 (ORT) of int8 PTQ {drop:+.2f} points, int8 QAT "
                     f"{qdrop:+.2f}, the control's int8 (the same extra epochs without fake quantization) "
                     f"{cdrop:+.2f}; QAT over the control: {qdrop - cdrop:+.2f} points. {goal[0].upper()}{goal[1:]}.")
    return lines


def markdown(cases: dict) -> str:
    from archc.deploy.benchmark import cpu_flags

    first = next(iter(cases.values()))
    t = first["main"]["timing"]
    flags = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in cpu_flags().items())
    lines = [
        "# Quantization-aware training against post-training int8 (issue 25)", "",
        f"Written by `python benchmarks/qat.py [--width W]` (one case per width; `benchmarks/qat.json` holds every "
        f"row); {first['machine']}, {flags}. Every figure below is computed by those runs.", "",
        "## Method", "",
        f"- Data: `archc data synth --classes 6 --images {first['images']} --size 96x96 --seed 0` "
        f"({first['main']['images']} val images).",
        f"- Model: Fast-SCNN (`specs/fastscnn.yaml`) at the case's width, 6 classes, 3x96x96, trained from "
        f"scratch for {first['epochs']} epochs (AdamW, lr 1e-3, cosine, batch 8, seed 0): the fp32 checkpoint.",
        f"- QAT: `archc train --qat --weights fp32/weights.pt --epochs {first['qat_epochs']} --lr 1e-4`. "
        f"Control: the same command without `--qat`, so that what extra training alone gives is not "
        f"credited to QAT.",
        "- `archc quantize-report` of the fp32 checkpoint with `--qat` (first block of each table), and of the "
        "control (second block): int8 calibrated on 32 train images (ORT: QDQ, 7-bit per-channel weights, "
        "uint8 activations; LiteRT: ai-edge-quantizer full-integer int8, 8-bit weights, int8 activations); "
        "every model scored on the val split; mIoU change (points) and max abs diff against the fp32 ONNX "
        "model of the same report in ONNX Runtime; latency: median of "
        f"{t['runs']} runs interleaved after {t['warmup']} warmup, {t['threads']} thread, wall clock "
        "(as `archc benchmark`), on a machine shared with other work (load averages below): read the "
        "latencies as rough; they are not what this file is for.",
        "- Seconds and CPU seconds are those of a case's last invocation: a step whose weights already exist in "
        "`--out` is skipped (width 1's training ran in an earlier invocation that stopped on a bug, fixed, in "
        "the report step).", ""]
    lines += summary(cases)
    for width, result in sorted(cases.items(), key=lambda kv: -float(kv[0])):
        lines += case(width, result)
    return "\n".join(lines)


def summary(cases: dict) -> list:
    """The answer over all cases, from the rows: the worst int8 PTQ change, and QAT's gain over the control."""
    ptq, gain = [], []
    for width, result in cases.items():
        rows = {(r["format"], r["runtime"], r["weights"]): r for r in result["main"]["rows"] if r["status"] == "ok"}
        ctl = {(r["format"], r["runtime"]): r for r in result["control"]["rows"] if r["status"] == "ok"}
        ref = rows[("fp32", "onnxruntime", "ptq")]["miou"]
        for rt in ("onnxruntime", "litert"):
            if ("int8", rt, "ptq") in rows and ("int8", rt, "qat") in rows and ("int8", rt) in ctl:
                ptq.append((rows[("int8", rt, "ptq")]["miou_change"], width, rt))
                gain.append((rows[("int8", rt, "qat")]["miou_change"] - 100 * (ctl[("int8", rt)]["miou"] - ref),
                             width, rt))
    worst, lo, hi = min(ptq), min(gain), max(gain)
    tested = worst[0] < -1
    return ["## Answer", "",
            f"- The largest mIoU change of int8 PTQ against fp32 over {len(cases)} widths and both runtimes: "
            f"{worst[0]:+.2f} points (width {worst[1]}, {worst[2]}).",
            "- " + ("PTQ loses more than 1 point somewhere: see that case's verdict below." if tested else
                    "PTQ never loses more than 1 point here, so the issue's goal (QAT within 0.5 point of fp32 "
                    "where PTQ loses more than 1) is **not tested**: no case made PTQ lose enough. Width 0.125, "
                    "the issue's suggestion, learned nothing on this set in a first try (300 images, 8 epochs: "
                    "11.5% mIoU, every pixel background, as in benchmarks/train_quality.md), so it cannot lose "
                    "anything either."),
            f"- int8 QAT against the control's int8 (the same extra epochs without fake quantization): "
            f"{lo[0]:+.2f} (width {lo[1]}, {lo[2]}) to {hi[0]:+.2f} points (width {hi[1]}, {hi[2]}). Against "
            f"the original fp32, QAT's int8 looks better than that, but most of it is the extra training, "
            f"which the control gets too.", ""]


def case(width: str, result: dict) -> list:
    main, control, (l0, l1) = result["main"], result["control"], result["load"]
    head = ["| run | model | runtime | KB | median ms | pixel acc | mIoU | mIoU change (pt) | max abs diff |",
            "|---|---|---|---|---|---|---|---|---|"]
    ctl_fp32 = next(r for r in control["rows"] if r["format"] == "fp32" and r["runtime"] == "onnxruntime")
    ref = next(r for r in main["rows"] if r["format"] == "fp32" and r["runtime"] == "onnxruntime")
    return [f"## Width {width}", "",
            f"{result['seconds']} s wall, {result['cpu_s']} s CPU of the script's process; load average "
            f"{l0[0]:.1f} at the start, {l1[0]:.1f} at the end.", "", *head,
            *table(main["rows"], "fp32 (+ QAT)"),
            *table([r for r in control["rows"] if r["format"] in ("fp32", "int8")], "control"), "",
            f"The control's fp32 scores {_pct(ctl_fp32['miou'])} against the original {_pct(ref['miou'])} "
            f"(what {result['qat_epochs']} more epochs at lr 1e-4 give without fake quantization).", "",
            *verdict(result), ""]


if __name__ == "__main__":
    main()
