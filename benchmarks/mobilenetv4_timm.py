"""timm's MobileNetV4-Conv-Small/-Medium against archc's specs and the plain-torch reference in
tests/refnets/mobilenetv4.py, once, outside CI (timm is never a test dependency; see DEVELOPERS.md):

    PYTHONPATH=. /work/tvenv/bin/python benchmarks/mobilenetv4_timm.py   # writes mobilenetv4_timm.md

For each model: timm's torchinfo totals; timm's random-init state_dict (BN statistics randomised)
loaded into the refnet by order and shape, and into archc with --weights; the max output difference
of each against timm; and the refnet's torchinfo totals, which must equal archc's."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import timm
import torch
import torchinfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from refnets import mobilenetv4 as ref  # noqa: E402

from archc.compile import compile_spec  # noqa: E402
from archc.torch.weights import lowered_report  # noqa: E402

MODELS = {"mobilenetv4_conv_small": 224, "mobilenetv4_conv_medium": 256}


def randomized(model):
    torch.manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # timm's BatchNormAct2d is one
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2), m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def by_order(src: dict, dst: torch.nn.Module) -> None:
    pairs = list(zip(src.items(), dst.state_dict().items()))
    assert len(src) == len(dst.state_dict()) and all(a.shape == b.shape for (_, a), (_, b) in pairs)
    dst.load_state_dict({nb: a for (_, a), (nb, _) in pairs})


def totals(model, size):
    s = torchinfo.summary(model, (1, 3, size, size), verbose=0)
    return s.total_params, s.total_mult_adds, s.total_output_bytes


def measure(name: str, size: int, tmp: Path) -> dict:
    torch.manual_seed(0)
    model = randomized(timm.create_model(name))
    refnet = getattr(ref, name)().eval()
    by_order(model.state_dict(), refnet)
    torch.save(model.state_dict(), tmp / f"{name}.pth")
    graph = compile_spec(ROOT / "specs" / f"{name}.yaml", input=f"3x{size}x{size}").graph
    module, report = lowered_report(graph, tmp / f"{name}.pth")
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = model(x)
        d_ref, d_archc = float((refnet(x) - want).abs().max()), float((module(x) - want).abs().max())
    r = compile_spec(ROOT / "specs" / f"{name}.yaml", input=f"3x{size}x{size}").report
    return {"name": name, "size": size, "timm": totals(model, size), "refnet": totals(refnet, size),
            "archc": (r.params, r.macs, r.activation_bytes), "scale": float(want.abs().max()),
            "d_ref": d_ref, "d_archc": d_archc, "paired": len(report.paired)}


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    rows = [measure(n, s, tmp) for n, s in MODELS.items()]
    lines = ["# timm's MobileNetV4 against archc", "",
             f"timm {timm.__version__}, torch {torch.__version__}, torchinfo 1.8; random-init models, BN statistics "
             "randomised; one seeded input. Totals are (params, MACs, activation bytes).", "",
             "| model | input | timm torchinfo | refnet torchinfo | archc | refnet - timm | archc - timm "
             "(tensors paired) | max output |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['size']} | {r['timm']} | {r['refnet']} | {r['archc']} | {r['d_ref']:.1e} "
              f"| {r['d_archc']:.1e} (rel. {r['d_archc'] / r['scale']:.1e}; {r['paired']}) | {r['scale']:.3g} |" for r in rows]
    lines += ["", "Params equal timm's. torchinfo sums MACs and output bytes over leaf modules only, and timm's "
              "BatchNormAct2d has children (its act and drop), so timm's totals leave every BN out; the refnet "
              "and archc keep BN and ReLU as separate modules, so their MACs are timm's plus 2·C per BN.",
              "The refnet computes exactly what timm does (difference 0); archc's lowering differs only by float "
              "rounding (relative ~1e-7; timm's random init lets the output grow large).", "",
              "Reproduce: `PYTHONPATH=. /work/tvenv/bin/python benchmarks/mobilenetv4_timm.py`."]
    (ROOT / "benchmarks" / "mobilenetv4_timm.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
