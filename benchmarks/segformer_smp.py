"""segmentation-models-pytorch 0.6's `Segformer(encoder_name="mit_b0", classes=150)` against
specs/segformer_b0.yaml and the plain-torch reference tests/refnets/segformer.py, once, outside CI
(smp is never a test dependency; see DEVELOPERS.md):

    PYTHONPATH=. /work/tvenv/bin/python benchmarks/segformer_smp.py   # writes segformer_smp.md

smp's random-init state_dict (BN statistics and layer norms randomised) goes into archc with
`--weights` and a map of 20 entries: tests/test_segformer.py's 12 (the sr convs and their layer
norms, which smp registers after q/kv/proj but runs before them) and the four patch embeddings'
conv and layer norm (smp's MixVisionTransformer registers all four before the first block; the
refnet registers each with its stage, so its map does not need them); into the refnet by name. Both
outputs are compared with smp's. smp's torchinfo totals must equal archc's and the refnet's. First
run 2026-12-07 in the reference venv (smp 0.6.0, torch 2.14.1): segformer_smp.md."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import segmentation_models_pytorch as smp
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from refnets.segformer import SR, SegFormerB0  # noqa: E402

from refcheck import randomized, totals  # noqa: E402

from archc.compile import compile_spec  # noqa: E402
from archc.ir.analysis import analyze  # noqa: E402
from archc.torch.weights import lowered_report  # noqa: E402

SIZES = ("3x512x512", "3x256x384")
# tests/test_segformer.py's WMAP (the refnet's; written out: importing the test module needs pytest) plus the
# four patch embeddings, which smp's MixVisionTransformer registers before every block (the refnet per stage)
WMAP = {**{f"stage{i}.blocks{i}.{b}.attn.{part}": f"encoder.block{i}.{b}.attn.{part}"
           for i, sr in enumerate(SR, 1) if sr > 1 for b in (0, 1) for part in ("sr", "norm")},
        **{f"stage{i}.{a}{i}.0": f"encoder.patch_embed{i}.{b}" for i in range(1, 5)
           for a, b in (("embed", "proj"), ("embed_norm", "norm"))}}


def measure(size: str) -> dict:
    shape = tuple(int(v) for v in size.split("x"))
    model = randomized(lambda: smp.Segformer(encoder_name="mit_b0", encoder_weights=None, classes=150),
                       (torch.nn.BatchNorm2d, torch.nn.LayerNorm))
    state = model.state_dict()
    refnet = SegFormerB0().eval()
    refnet.load_state_dict(state)  # the same names
    graph = compile_spec(ROOT / "specs" / "segformer_b0.yaml", input=size).graph
    module, report = lowered_report(graph, state, WMAP)
    x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got, ref = model(x), module(x), refnet(x)
    r = analyze(graph)
    return {"size": size, "smp": totals(model, shape), "refnet": totals(refnet, shape),
            "archc": (r.params, r.macs, r.activation_bytes), "attention": r.macs_attention,
            "paired": len(report.paired), "archc_diff": float((got - want).abs().max()),
            "refnet_diff": float((ref - want).abs().max()), "scale": float(want.abs().max())}


def main() -> None:
    rows = [measure(size) for size in SIZES]
    lines = ["# SegFormer-B0: archc against segmentation-models-pytorch 0.6", "",
             f"`python benchmarks/segformer_smp.py` (smp {smp.__version__}, torch {torch.__version__}, "
             f"torchinfo 1.8). smp's `Segformer(encoder_name=\"mit_b0\", encoder_weights=None, classes=150)`, "
             "random weights with randomised BN statistics and layer norms; its state_dict loaded into "
             "archc by `--weights` with tests/test_segformer.py's map plus the four patch embeddings (20 "
             "entries, `WMAP` in the script), and into tests/refnets/segformer.py by name. Figures are "
             "torchinfo's (params, MACs, output bytes x 2) at batch 1.", "",
             "| input | smp params | archc params | smp MACs | archc MACs | refnet MACs | smp act. bytes | "
             "archc act. bytes | archc attention MACs | tensors paired | max abs diff archc vs smp | "
             "refnet vs smp | max abs output |", "|" + "---|" * 13]
    for r in rows:
        lines.append(f"| {r['size']} | {r['smp'][0]:,} | {r['archc'][0]:,} | {r['smp'][1]:,} | {r['archc'][1]:,} | "
                     f"{r['refnet'][1]:,} | {r['smp'][2]:,} | {r['archc'][2]:,} | {r['attention']:,} | {r['paired']} | "
                     f"{r['archc_diff']:.1e} | {r['refnet_diff']:.1e} | {r['scale']:.2f} |")
    same = all(r["smp"] == r["archc"] == r["refnet"] for r in rows)
    lines += ["", f"Counts equal at every size: {same}.", "",
              f"No timings: counts and differences do not depend on the machine's load (1-minute load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end of the run)."]
    (Path(__file__).with_suffix(".md")).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
