"""Scale augmentation on (random scale 0.5-2.0 of the image, crop to the input with ignore padding, flip)
against off (flip only), on a synthetic set: val mIoU after N epochs, the same seeds for both, averaged.
`--kind stripes` (classes by stripe period: scaling turns one class into another) or `--kind scenes` (classes
by shape and pattern drawn relative to the object's size: they hold at any scale, as real scenes' do).

    nice -n 10 python benchmarks/scale_augment.py --width 0.5 --images 480 --size 96 --epochs 8 --seeds 0 1 2
    nice -n 10 python benchmarks/scale_augment.py --kind scenes --settings "scale 0.5-2.0 + flip" "flip only" \
        "scale 0.9-1.1 + flip" --out benchmarks/scale_augment_scenes.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from archc.compile import compile_spec
from archc.train.loop import Config, train
from archc.train.synth import KINDS, Recipe, write

SETTINGS = {"scale 0.5-2.0 + flip": (0.5, 2.0), "flip only": None, "scale 0.9-1.1 + flip": (0.9, 1.1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=float, default=0.5)
    ap.add_argument("--images", type=int, default=480)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--classes", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--kind", default="stripes", choices=KINDS)
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS)[:2], choices=list(SETTINGS))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/scale_augment.json"))
    args = ap.parse_args()
    compiled = compile_spec("specs/fastscnn.yaml", [f"width={args.width}"], f"3x{args.size}x{args.size}",
                            {"classes": args.classes})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        write(Recipe(args.kind, args.classes, args.images, (args.size, args.size), seed=0), data)
        for seed in args.seeds:  # interleaved: both settings per seed, so the machine's load falls on both
            for name in args.settings:
                scale = SETTINGS[name]
                start = time.process_time()
                state = train(compiled, data, Config(args.epochs, seed=seed, scale=scale))
                rows.append({"setting": name, "seed": seed, "miou": state["epochs"][-1]["miou"],
                             "cpu_s": round(time.process_time() - start, 1)})
                print(json.dumps(rows[-1]), flush=True)
    means = {n: round(statistics.mean(r["miou"] for r in rows if r["setting"] == n), 4) for n in args.settings}
    print(json.dumps(means))
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": rows,
                                    "mean_miou": means}, indent=1) + "\n")


if __name__ == "__main__":
    main()
