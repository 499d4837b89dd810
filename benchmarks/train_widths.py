"""mIoU after N epochs on the synthetic set for Fast-SCNN at widths 1, 0.5, 0.25, 0.125 (a bigger model must
score higher, or the data is too easy), and the float32 vs int8 mIoU of the trained width-1 model, both
scored by ONNX Runtime on the val split.

    OMP_NUM_THREADS=1 python benchmarks/train_widths.py --images 400 --size 128 --epochs 10 --out /tmp/widths
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from archc.compile import compile_spec
from archc.train.loop import Config
from archc.train.proxy import train_and_eval
from archc.train.quality import quantized_quality
from archc.train.synth import synthesize

WIDTHS = (1.0, 0.5, 0.25, 0.125)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--classes", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", type=Path, default=Path("/tmp/archc_train_widths"))
    args = ap.parse_args()
    data = args.out / "data"
    args.out.mkdir(parents=True, exist_ok=True)
    synthesize(data, args.classes, args.images, (args.size, args.size), seed=0, force=True)
    rows = []
    for w in WIDTHS:
        c = compile_spec("specs/fastscnn.yaml", [f"width={w}"], f"3x{args.size}x{args.size}",
                         {"classes": args.classes})
        r = train_and_eval(c, data, Config(args.epochs), out=args.out / f"w{w}")
        rows.append({"width": w, "params": c.report.params, "macs": c.report.macs, **r})
        print(json.dumps(rows[-1]), flush=True)
    c1 = compile_spec("specs/fastscnn.yaml", [], f"3x{args.size}x{args.size}", {"classes": args.classes})
    start = time.perf_counter()
    q = quantized_quality(c1, args.out / "w1.0" / "weights.pt", data, "int8", args.out / "w1.0")
    q["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps({k: q[k] for k in ("float32", "int8")}), flush=True)
    (args.out / "widths.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                      "widths": rows, "int8": q}, indent=1))


if __name__ == "__main__":
    main()
