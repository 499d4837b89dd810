"""timm's EfficientViT-B0 (MIT HAN Lab's; timm's `efficientvit_b0`) against archc's spec and the plain-torch
reference in tests/refnets/efficientvit.py, once, outside CI (timm is never a test dependency; see
DEVELOPERS.md):

    PYTHONPATH=. /work/tvenv/bin/python benchmarks/efficient_timm.py   # writes efficient_timm.md

What it is for: the evidence that specs/efficientvit_b0.yaml is timm's model. timm's torchinfo totals
against archc's and the refnet's; timm's random-init state_dict (BN statistics randomised) loaded into
archc with --weights (pairing by order) and into the refnet by name; the max output difference of each
against timm on seeded inputs, at the default 224x224 and at a second size."""
from __future__ import annotations

import platform
import sys
import tempfile
from pathlib import Path

import timm
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from refnets.efficientvit import EfficientViTB0  # noqa: E402

from refcheck import randomized, totals  # noqa: E402

from archc.compile import compile_spec  # noqa: E402
from archc.torch.weights import lowered_report  # noqa: E402

SPEC = ROOT / "specs" / "efficientvit_b0.yaml"
SIZES = ((224, 224), (256, 320))


def measure(h: int, w: int, tmp: Path) -> dict:
    model = randomized(lambda: timm.create_model("efficientvit_b0"))
    refnet = EfficientViTB0().eval()
    refnet.load_state_dict(model.state_dict())  # strict: timm's names
    torch.save(model.state_dict(), tmp / "efficientvit_b0.pth")
    c = compile_spec(SPEC, input=f"3x{h}x{w}")
    module, report = lowered_report(c.graph, tmp / "efficientvit_b0.pth")
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = model(x)
        d_ref, d_archc = float((refnet(x) - want).abs().max()), float((module(x) - want).abs().max())
    r = c.report
    return {"size": f"{h}x{w}", "timm": totals(model, (3, h, w)), "refnet": totals(refnet, (3, h, w)),
            "archc": (r.params, r.macs, r.activation_bytes), "attention": r.macs_attention,
            "scale": float(want.abs().max()), "d_ref": d_ref, "d_archc": d_archc, "paired": len(report.paired),
            "how": report.how}


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    rows = [measure(h, w, tmp) for h, w in SIZES]
    lines = ["# timm's EfficientViT-B0 against archc", "",
             f"timm {timm.__version__}, torch {torch.__version__}, torchinfo 1.8, {platform.machine()} CPU; "
             "`timm.create_model('efficientvit_b0')` (random init, BN statistics randomised), 1000 classes; "
             "one seeded batch of two inputs per size. Totals are (params, MACs, activation bytes).", "",
             "| input | timm torchinfo | refnet torchinfo | archc | archc attention MACs | refnet - timm "
             "| archc - timm (tensors paired) | max output |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['size']} | {r['timm']} | {r['refnet']} | {r['archc']} | {r['attention']:,} | {r['d_ref']:.1e} "
              f"| {r['d_archc']:.1e} (rel. {r['d_archc'] / r['scale']:.1e}; {r['paired']}, {r['how']}) "
              f"| {r['scale']:.3g} |" for r in rows]
    lines += ["", "What this shows: params, MACs and activation bytes equal timm's in torchinfo at both sizes "
              "(timm's BatchNorm2d here is plain, not BatchNormAct2d, so no BN is left out), and timm's "
              "state_dict loads into archc by the default order pairing. The refnet computes exactly what timm "
              "does; archc's lowering differs from timm by float rounding only (the relative figure). "
              "torchinfo does not see LiteMLA's two matmuls (kᵀ·[v, 1] and q·(kᵀ·[v, 1])); archc reports them "
              "as attention MACs on top.", "",
              "Reproduce: `PYTHONPATH=. /work/tvenv/bin/python benchmarks/efficient_timm.py` (a few seconds; "
              "no timing is measured, so machine load does not matter)."]
    (ROOT / "benchmarks" / "efficient_timm.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
