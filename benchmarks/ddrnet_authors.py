"""The authors' DDRNet-23-slim (github ydhongHIT/DDRNet, segmentation/DDRNet_23_slim.py) against
specs/ddrnet23_slim.yaml and the plain-torch reference in tests/refnets/ddrnet.py, once, outside CI
(the authors' file is not part of archc; clone their repository and name the file):

    PYTHONPATH=. /work/tvenv/bin/python benchmarks/ddrnet_authors.py PATH/TO/DDRNet_23_slim.py

What it is for: the evidence behind the DDRNet figures in docs/specs.md. The file is run with its
SyncBatchNorm replaced by BatchNorm2d (CPU, eval); torchinfo totals of their DualResNet_imagenet(), of
the refnet and of archc at the paper's 1024x2048; their state_dict (random weights, BN statistics)
loaded into the refnet by name and into archc with --weights and the six-line order: map; output
differences at 512x1024. Writes benchmarks/ddrnet_authors.md."""
from __future__ import annotations

import sys
import tempfile
import types
from pathlib import Path

import torch
import torchinfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from refnets.ddrnet import DDRNet23Slim  # noqa: E402
from spec_table import MAPS  # noqa: E402

from archc.compile import compile_spec  # noqa: E402
from archc.torch.weights import lowered_report  # noqa: E402

SPEC = ROOT / "specs" / "ddrnet23_slim.yaml"


def authors_model(path: Path):
    text = path.read_text().replace("BatchNorm2d = nn.SyncBatchNorm", "BatchNorm2d = nn.BatchNorm2d")
    module = types.ModuleType("ddrnet_authors")
    exec(compile(text, str(path), "exec"), module.__dict__)  # the user's own clone, run as they would
    return module.DualResNet_imagenet().eval()


def random_state(model) -> dict:
    g = torch.Generator().manual_seed(0)
    out = {}
    for k, v in model.state_dict().items():
        if not v.is_floating_point():
            out[k] = v
        elif k.endswith("running_var"):
            out[k] = torch.rand(v.shape, generator=g) + 0.5
        else:
            out[k] = torch.randn(v.shape, generator=g) * (0.1 if v.dim() == 1 else max(1, v[0].numel()) ** -0.5)
    return out


def totals(model, shape):
    s = torchinfo.summary(model, (1, *shape), verbose=0, device="cpu")
    return s.total_params, s.total_mult_adds, s.total_output_bytes


def main(path: Path) -> None:
    theirs, ours = authors_model(path), DDRNet23Slim().eval()
    state = random_state(theirs)
    theirs.load_state_dict(state)
    ours.load_state_dict(state)  # strict: their names
    same_order = list(state) == list(ours.state_dict())
    r = compile_spec(SPEC).report
    big = (3, 1024, 2048)
    rows = [("authors' DualResNet_imagenet()", totals(theirs, big)), ("tests/refnets/ddrnet.py", totals(ours, big)),
            ("specs/ddrnet23_slim.yaml", (r.params, r.macs, r.activation_bytes))]
    tmp = Path(tempfile.mkdtemp()) / "ddrnet23_slim.pth"
    torch.save(state, tmp)
    module, report = lowered_report(compile_spec(SPEC, input="3x512x1024").graph, tmp, MAPS["ddrnet23_slim"])
    x = torch.randn(1, 3, 512, 1024, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = theirs(x)
        d_ref, d_archc = float((ours(x) - want).abs().max()), float((module(x) - want).abs().max())
    lines = ["# The authors' DDRNet-23-slim against archc", "",
             f"torch {torch.__version__}, torchinfo 1.8; {path.name} with SyncBatchNorm -> BatchNorm2d, 19 classes, "
             "random weights and BN statistics (seeded). Totals are (params, MACs, activation bytes) at "
             "1x3x1024x2048.", "", "| model | torchinfo / archc totals |", "|---|---|"]
    lines += [f"| {name} | {t} |" for name, t in rows]
    lines += ["", f"- the refnet's state_dict keys equal the authors', in the same order: {same_order}",
              f"- their state_dict in the refnet (by name), max |refnet - authors'| at 1x3x512x1024: {d_ref:.1e}",
              f"- in archc with --weights and the order: map ({len(report.paired)} tensors, {report.how}): "
              f"max |archc - authors'| {d_archc:.1e}, output magnitude {float(want.abs().max()):.3g}", "",
              "Reproduce: `PYTHONPATH=. /work/tvenv/bin/python benchmarks/ddrnet_authors.py PATH/TO/DDRNet_23_slim.py` "
              "(no timing is measured, so machine load does not matter)."]
    (ROOT / "benchmarks" / "ddrnet_authors.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
