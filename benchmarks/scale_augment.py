"""Scale augmentation on (random scale 0.5-2.0 of the image, crop to the input with ignore padding, flip)
against off (crop and flip only), on a synthetic set: val mIoU after N epochs, the same seeds for both, averaged.
`--kind stripes` (classes by stripe period: scaling turns one class into another) or `--kind scenes` (classes
by shape and pattern drawn relative to the object's size: they hold at any scale, as real scenes' do).

`--image` sets the size of the set's images apart from the training crop `--size` (the recipe's set-up: a
Cityscapes recipe trains 512x1024 crops of 1024x2048 images, half the image each side, and scores the whole
image). With `--image 192 --size 96` both arms random-crop 96x96 out of 192x192 images; the val figure is the
train loop's (sliding 96x96 windows over the whole 192x192 image, Fast-SCNN's lowering being fixed-size), and
`whole_miou` scores the same weights again in one pass over the whole image (the spec built at 192x192).

    nice -n 10 python benchmarks/scale_augment.py --width 0.5 --images 480 --size 96 --epochs 8 --seeds 0 1 2
    nice -n 10 python benchmarks/scale_augment.py --kind scenes --settings "scale 0.5-2.0 + flip" "flip only" \
        "scale 0.9-1.1 + flip" --out benchmarks/scale_augment_scenes.json
    nice -n 10 python benchmarks/scale_augment.py --kind scenes --image 192 --size 96 \
        --out benchmarks/scale_augment_recipe.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from archc.compile import compile_spec
from archc.torch.lower import lower
from archc.train.evaluate import Inference, evaluate_module
from archc.train.loop import Config, datasets, train
from archc.train.synth import KINDS, Recipe, write

SETTINGS = {"scale 0.5-2.0 + flip": (0.5, 2.0), "flip only": None, "scale 0.9-1.1 + flip": (0.9, 1.1)}


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=float, default=0.5)
    ap.add_argument("--images", type=int, default=480)
    ap.add_argument("--size", type=int, default=96, help="the training crop and the spec's input")
    ap.add_argument("--image", type=int, default=None, help="the set's image size (default: --size)")
    ap.add_argument("--classes", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--kind", default="stripes", choices=KINDS)
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS)[:2], choices=list(SETTINGS))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/scale_augment.json"))
    return ap.parse_args()


def whole_miou(compiled_full, module, data, config: Config) -> float:
    """The trained weights scored in one pass over each whole val image (the spec built at the image size)."""
    full = lower(compiled_full.graph, config.seed)
    full.load_state_dict(module.state_dict())
    _, val = datasets(compiled_full, data, config)
    return evaluate_module(full, val, Inference(mode="whole", batch=config.batch))["miou"]


def main() -> None:
    args = parse()
    image = args.image or args.size
    build = lambda side: compile_spec("specs/fastscnn.yaml", [f"width={args.width}"],  # noqa: E731
                                      f"3x{side}x{side}", {"classes": args.classes})
    compiled, compiled_full = build(args.size), (build(image) if image != args.size else None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        write(Recipe(args.kind, args.classes, args.images, (image, image), seed=0), data)
        for seed in args.seeds:  # interleaved: both settings per seed, so the machine's load falls on both
            for name in args.settings:
                config, start = Config(args.epochs, seed=seed, scale=SETTINGS[name]), time.process_time()
                module = lower(compiled.graph, seed)  # what train() would make; kept to score it whole
                state = train(compiled, data, config, module=module)
                row = {"setting": name, "seed": seed, "miou": state["epochs"][-1]["miou"],
                       "cpu_s": round(time.process_time() - start, 1), "load1": round(os.getloadavg()[0], 1)}
                if compiled_full is not None:
                    row["whole_miou"] = whole_miou(compiled_full, module, data, config)
                rows.append(row)
                print(json.dumps(rows[-1]), flush=True)
    means = {n: round(statistics.mean(r["miou"] for r in rows if r["setting"] == n), 4) for n in args.settings}
    print(json.dumps(means))
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": rows,
                                    "mean_miou": means}, indent=1) + "\n")


if __name__ == "__main__":
    main()
