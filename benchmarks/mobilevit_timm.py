"""timm's MobileViT-XXS and -S against archc's specs and the plain-torch reference in
tests/refnets/mobilevit.py, once, outside CI (timm is never a test dependency; see DEVELOPERS.md):

    PYTHONPATH=. /work/tvenv/bin/python benchmarks/mobilevit_timm.py   # writes mobilevit_timm.md

For each model at timm's default input (pretrained_cfg): timm's torchinfo totals; timm's random-init
state_dict (BN statistics randomised) saved to a file, loaded into the refnet by name (strict) and into
archc as `--weights` loads it (default pairing: by module order); the max output difference of each
against timm; archc's totals, and the MACs difference explained term by term."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import timm
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from refnets.mobilevit import MobileViT  # noqa: E402

from refcheck import randomized, totals  # noqa: E402

from archc.compile import compile_spec  # noqa: E402
from archc.torch.weights import lowered_report  # noqa: E402

MODELS = {"mobilevit_xxs": "xxs", "mobilevit_s": "s"}


def measure(name: str, size_key: str, tmp: Path) -> dict:
    model = randomized(lambda: timm.create_model(name))
    size = model.pretrained_cfg["input_size"][-1]
    refnet = MobileViT(size_key).eval()
    refnet.load_state_dict(model.state_dict(), strict=True)
    torch.save(model.state_dict(), tmp / f"{name}.pth")
    compiled = compile_spec(ROOT / "specs" / f"{name}.yaml", input=f"3x{size}x{size}")
    module, report = lowered_report(compiled.graph, tmp / f"{name}.pth")
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = model(x)
        d_ref, d_archc = float((refnet(x) - want).abs().max()), float((module(x) - want).abs().max())
    r = compiled.report
    bn = sum(layer.params for layer in r.layers if layer.op == "bn")
    tokens = sum(layer.params for layer in r.layers if layer.op in ("linear", "layernorm") and len(layer.out) == 2)
    shape = (3, size, size)
    return {"name": name, "size": size, "timm": totals(model, shape), "refnet": totals(refnet, shape),
            "archc": (r.params, r.macs, r.activation_bytes), "attention": r.macs_attention, "bn": bn,
            "tokens": tokens, "scale": float(want.abs().max()), "d_ref": d_ref, "d_archc": d_archc,
            "paired": len(report.paired), "how": report.how}


def explained(r: dict) -> str:
    predicted = r["archc"][1] - r["bn"] + 3 * r["tokens"]
    return f"{r['archc'][1]:,} - {r['bn']:,} + 3·{r['tokens']:,} = {predicted:,} ({'=' if predicted == r['timm'][1] else '≠'} timm's)"


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    rows = [measure(n, s, tmp) for n, s in MODELS.items()]
    lines = ["# timm's MobileViT against archc", "",
             f"timm {timm.__version__}, torch {torch.__version__}, torchinfo 1.8; random-init models, BN statistics "
             "randomised; one seeded input of batch 2 at timm's default size (pretrained_cfg). Totals are "
             "(params, MACs, activation bytes). What it is for: that specs/mobilevit_*.yaml compute timm's "
             "function from timm's own state_dict, and how their counts relate to torchinfo's on timm.", "",
             "| model | input | timm torchinfo | refnet torchinfo | archc (+ attention MACs) | refnet - timm "
             "| archc - timm (tensors paired) | max output |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['size']} | {r['timm']} | {r['refnet']} | {r['archc']} (+ {r['attention']:,}) "
              f"| {r['d_ref']:.1e} | {r['d_archc']:.1e} (rel. {r['d_archc'] / r['scale']:.1e}; {r['paired']} "
              f"{r['how']}) | {r['scale']:.3g} |" for r in rows]
    lines += ["", "Params equal timm's. MACs: archc's minus its BN layers' 2·C (torchinfo sums over leaf modules "
              "and timm's BatchNormAct2d has children, so timm's totals leave every BN out), plus 3 x the "
              "parameters of the layers on token sequences (timm folds the 4 positions of a 2x2 patch into "
              "the batch, B·4 x N x C, and torchinfo counts a linear's or layernorm's parameters once per "
              "batch item; archc keeps batch 1 and holds the 4 runs in one sequence, so counts them once):", ""]
    lines += [f"- {r['name']}: {explained(r)}" for r in rows]
    lines += ["", "Activation bytes: the refnet's (plain BN and SiLU modules, as archc lowers them) equal archc's; "
              "timm's are smaller, its BN and SiLU being one module. Neither torchinfo figure sees q·kᵀ and "
              "attn·v (timm calls F.scaled_dot_product_attention): archc reports them as `macs_attention`.", ""]
    out = Path(__file__).with_suffix(".md")
    out.write_text("\n".join(lines))
    print(out.read_text())


if __name__ == "__main__":
    main()
