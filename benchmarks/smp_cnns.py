"""segmentation-models-pytorch 0.6's FPN and Unet on ResNet-18 and PSPNet on a dilated ResNet-50 (output
stride 8) against specs/fpn_resnet18.yaml, specs/unet_resnet18.yaml, specs/pspnet_resnet50.yaml and
the plain-torch references in tests/refnets/smp_cnns.py, once, outside CI (smp is never a test
dependency; see DEVELOPERS.md):

    PYTHONPATH=. /work/tvenv/bin/python benchmarks/smp_cnns.py   # writes smp_cnns.md

Per model and input size: torchinfo 1.8's totals (params, MACs, output bytes) of smp's model, of the
refnet and archc's own analysis (no torch); then smp's random-init state_dict (BN statistics, BN and
GroupNorm affines randomised) goes into archc with `--weights` (pairing by execution order and shape,
no map) and into the refnet by name (strict), and both outputs are compared with smp's on one random
input. What the figures are for: the check that each spec is smp's model, not a speed claim."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import segmentation_models_pytorch as smp
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from refnets.smp_cnns import FPNResNet18, PSPResNet50, UnetResNet18  # noqa: E402

from refcheck import randomized, totals  # noqa: E402

from archc.compile import compile_spec  # noqa: E402
from archc.ir.analysis import analyze  # noqa: E402
from archc.torch.weights import lowered_report  # noqa: E402

MODELS = {  # spec -> (smp's call as written in the table, the model, the refnet)
    "fpn_resnet18": ('FPN(encoder_name="resnet18", classes=150)',
                     lambda: smp.FPN(encoder_name="resnet18", encoder_weights=None, classes=150), FPNResNet18),
    "unet_resnet18": ('Unet(encoder_name="resnet18", classes=150)',
                      lambda: smp.Unet(encoder_name="resnet18", encoder_weights=None, classes=150), UnetResNet18),
    "pspnet_resnet50": ('PSPNet(encoder_name="resnet50", encoder_depth=5, output_stride=8, classes=150)',
                        lambda: smp.PSPNet(encoder_name="resnet50", encoder_weights=None, encoder_depth=5,
                                           output_stride=8, classes=150), PSPResNet50),
}
SIZES = ("3x512x512", "3x256x384")


def measure(name: str, size: str) -> dict:
    shape = tuple(int(v) for v in size.split("x"))
    _, make, refnet_class = MODELS[name]
    model = randomized(make, (torch.nn.BatchNorm2d, torch.nn.GroupNorm))
    state = model.state_dict()
    refnet = refnet_class().eval()
    refnet.load_state_dict(state)  # the same names, every tensor
    graph = compile_spec(ROOT / "specs" / f"{name}.yaml", input=size).graph
    module, report = lowered_report(graph, state)
    x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got, ref = model(x), module(x), refnet(x)
    r = analyze(graph)
    scale = float(want.abs().max())
    return {"name": name, "size": size, "smp": totals(model, shape), "refnet": totals(refnet, shape),
            "archc": (r.params, r.macs, r.activation_bytes), "paired": len(report.paired),
            "archc_diff": float((got - want).abs().max()) / scale,
            "refnet_diff": float((ref - want).abs().max()) / scale, "scale": scale}


def main() -> None:
    rows = [measure(name, size) for name in MODELS for size in SIZES]
    calls = "; ".join(f"`{name}`: smp's `{call}`" for name, (call, _, _) in MODELS.items())
    lines = ["# FPN, U-Net and PSPNet: archc against segmentation-models-pytorch 0.6", "",
             f"`python benchmarks/smp_cnns.py` (smp {smp.__version__}, torch {torch.__version__}, torchinfo 1.8), "
             f"in the reference venv, outside CI. {calls} (each with `encoder_weights=None`). Random weights "
             "with randomised BN statistics and BN/GroupNorm affines; smp's state_dict loaded into archc by "
             "`--weights` (by execution order and shape, no map) and into tests/refnets/smp_cnns.py by name. "
             "Counts are torchinfo's (params, MACs, output bytes) at batch 1; archc's come from its own "
             "analysis of the IR, no torch. Differences are max |y - y_smp| / max |y_smp| on one random input.",
             "", "| spec | input | smp params | archc params | smp MACs | archc MACs | refnet MACs | smp act. bytes "
             "| archc act. bytes | tensors paired | rel. diff archc vs smp | refnet vs smp | max abs output |",
             "|" + "---|" * 13]
    for r in rows:
        lines.append(f"| {r['name']} | {r['size']} | {r['smp'][0]:,} | {r['archc'][0]:,} | {r['smp'][1]:,} | "
                     f"{r['archc'][1]:,} | {r['refnet'][1]:,} | {r['smp'][2]:,} | {r['archc'][2]:,} | {r['paired']} | "
                     f"{r['archc_diff']:.1e} | {r['refnet_diff']:.1e} | {r['scale']:.2f} |")
    same = all(r["smp"] == r["archc"] == r["refnet"] for r in rows)
    worst = max(max(r["archc_diff"], r["refnet_diff"]) for r in rows)
    lines += ["", f"Counts equal (smp = archc = refnet) at every size: {same}. "
              f"Largest relative output difference: {worst:.1e} (the bound the specs promise: 1e-5).", "",
              f"No timings: counts and differences do not depend on the machine's load (1-minute load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end of the run)."]
    (Path(__file__).with_suffix(".md")).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
