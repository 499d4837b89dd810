"""archc's Fast-SCNN against the same network written by hand, both exported the same
way, timed in one process with their runs interleaved.

    python benchmarks/handwritten_vs_compiled.py --size 512 --width 1 --threads 1 --runs 200

Checks first that the two are the same model: equal params, MACs and activation
bytes (torchinfo on the hand-written one, archc's analysis on the other), equal op
histograms of the exported ONNX, and equal outputs once the hand-written model is
given archc's weights. Then prints medians, the median of per-round paired ratios
(compiled / hand-written), ONNX Runtime vs PyTorch eager, and achieved GMAC/s.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
import torchinfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from fastscnn_handwritten import FastSCNN  # noqa: E402

from archc.compile import compile_spec  # noqa: E402
from archc.onnx.export import export_module, export_onnx, save_checked  # noqa: E402
from archc.measure.profile import interleave, ort_runner, stats, torch_runner  # noqa: E402
from archc.onnx.verify import max_abs_diff, simplify, simplify_and_verify  # noqa: E402


def models(size: int, width: float, folder: Path):
    """(archc Compiled, its torch module, hand-written module, compiled.onnx, hand.onnx)."""
    c = compile_spec(ROOT / "specs" / "fastscnn.yaml", [f"width={width:g}"], f"3x{size}x{size}")
    exported = export_onnx(c.graph, folder / "compiled.onnx")
    save_checked(simplify_and_verify(exported, c.graph.input_shape).model, exported.path)
    hand = FastSCNN(1, width, size).eval()
    order = {node.name: i for i, node in enumerate(c.graph)}  # archc's modules, in execution order
    ours = dict(sorted(exported.module.state_dict().items(), key=lambda kv: order[kv[0].rsplit(".", 1)[0]]))
    theirs = hand.state_dict()
    assert [v.shape for v in ours.values()] == [v.shape for v in theirs.values()], "not the same layers"
    hand.load_state_dict(dict(zip(theirs, ours.values())))  # same order: same weights
    simple, note = simplify(export_module(hand, c.graph.input_shape), c.graph.input_shape)
    assert simple is not None, note
    save_checked(simple, folder / "hand.onnx")
    return c, exported.module, hand, folder / "compiled.onnx", folder / "hand.onnx"


def check_same(c, module, hand, compiled_onnx, hand_onnx) -> dict:
    info = torchinfo.summary(hand, (1, *c.graph.input_shape), verbose=0)
    assert (info.total_params, info.total_mult_adds, info.total_output_bytes) == (
        c.report.params, c.report.macs, c.report.activation_bytes), "params/MACs/bytes differ"
    hist = [collections.Counter(n.op_type for n in onnx.load(str(p)).graph.node) for p in (compiled_onnx, hand_onnx)]
    assert hist[0] == hist[1], f"op histograms differ: {hist}"
    x = torch.randn(1, *c.graph.input_shape)
    with torch.inference_mode():
        torch_diff = float((module(x) - hand(x)).abs().max())
    ort_diff, _ = max_abs_diff(hand_onnx, hand, c.graph.input_shape)
    return {"params": info.total_params, "macs": info.total_mult_adds, "ops": dict(hist[0]),
            "torch_diff": torch_diff, "hand_ort_vs_torch": ort_diff}


def run(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        c, module, hand, compiled_onnx, hand_onnx = models(args.size, args.width, Path(tmp))
        facts = check_same(c, module, hand, compiled_onnx, hand_onnx)
        shape = c.graph.input_shape
        runners = {"compiled ort": ort_runner(compiled_onnx, args.threads, "compiled"),
                   "hand ort": ort_runner(hand_onnx, args.threads, "hand-written")}
        if not args.ort_only:
            runners["compiled torch"] = torch_runner(module, shape, args.threads)
            runners["hand torch"] = torch_runner(hand, shape, args.threads)
        times = interleave(runners, args.warmup, args.runs)
    report(args, facts, runners, times)


def report(args, facts, runners, times) -> None:
    print(f"Fast-SCNN width {args.width:g}, 3x{args.size}x{args.size}, {args.threads} thread(s), "
          f"{args.runs} interleaved rounds after {args.warmup} warmup; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"same model: params {facts['params']:,}, MACs {facts['macs']:,}, ops {facts['ops']}; "
          f"torch outputs differ by {facts['torch_diff']:.2g}; hand-written ORT vs torch {facts['hand_ort_vs_torch']:.2g}")
    print("| model | runtime | median ms | p90 ms | std ms | GMAC/s |\n|---|---|---|---|---|---|")
    for name, ms in times.items():
        s = stats(runners[name], ms, args.warmup)
        print(f"| {name.split()[0]} | {s['runtime']} | {s['median_ms']:.3f} | {s['p90_ms']:.3f} | {s['std_ms']:.3f} "
              f"| {facts['macs'] / s['median_ms'] / 1e6:.1f} |")
    for rt in ("ort", "torch"):
        if f"compiled {rt}" in times:
            paired = np.array(times[f"compiled {rt}"]) / np.array(times[f"hand {rt}"])
            print(f"compiled / hand-written ({rt}): median of paired ratios {np.median(paired):.4f}, "
                  f"ratio of medians {np.median(times[f'compiled {rt}']) / np.median(times[f'hand {rt}']):.4f}")
    for who in ("compiled", "hand"):
        if f"{who} torch" in times:
            print(f"{who}: PyTorch eager / ONNX Runtime = "
                  f"{np.median(times[f'{who} torch']) / np.median(times[f'{who} ort']):.2f}x")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--ort-only", action="store_true", help="skip PyTorch eager")
    run(p.parse_args())


if __name__ == "__main__":
    main()
