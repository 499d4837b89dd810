"""Why SegNet at its default input (3x352x480) fails the export verification with a correct file, in LiteRT
and ONNX Runtime alike: its max-unpools move each value to its pooling window's maximum, and a window whose
two largest values lie within float32 rounding of each other picks either one under another valid rounding.

With the build's seeded weights and the verification's seeded inputs this computes:
1. PyTorch against PyTorch with oneDNN off (another conv algorithm, the same graph): max |difference| and the
   output values over the verification's tolerance;
2. the indices SegNet's five pools keep in LiteRT (the encoder converted with archc's lowering, the indices
   as its outputs) against PyTorch's: how many differ, and how far apart PyTorch's values of the two picks are;
3. ONNX Runtime (the module exported as archc exports it, before onnxslim) against PyTorch: max |difference|;
4. the whole .tflite against PyTorch, and against PyTorch made to keep LiteRT's indices (step 2's) in its pools:
   whether the file computes SegNet correctly once the near-tied windows are resolved as LiteRT resolves them.

    nice -n 10 python benchmarks/segnet_ties.py [--md benchmarks/segnet_ties.md]

Needs `pip install 'archc[litert]'` (step 2). Nothing is timed, so machine load does not change the figures.
"""
from __future__ import annotations

import argparse
import copy
import operator
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from archc.compile import compile_spec
from archc.litert.convert import convert
from archc.litert.interpreter import Model
from archc.litert.verify import depth
from archc.onnx import runtime
from archc.onnx.export import export_onnx
from archc.onnx.verify import SAMPLES, SEED, tolerance
from archc.torch.weights import lowered

ROOT = Path(__file__).resolve().parents[1]


def pool_indices(module) -> tuple:
    """`module`'s fx graph cut after the encoder: the indices of each pool (as float32, exact below 2^24)."""
    g = copy.deepcopy(module.graph)
    pools = [n for n in g.nodes if n.op == "call_function" and n.target is operator.getitem and n.args[1] == 1
             and getattr(n.args[0], "op", "") == "call_module" and "pool" in n.args[0].target]
    out = next(n for n in g.nodes if n.op == "output")
    with g.inserting_before(out):
        floats = tuple(g.call_method("float", (n,)) for n in pools)
    g.erase_node(out)
    g.output(floats)
    cut = torch.fx.GraphModule(module, g)
    cut.graph.eliminate_dead_code()
    cut.recompile()
    return cut.eval(), [n.args[0].target.rsplit(".", 1)[0] for n in pools]


def pool_inputs(module, x) -> dict:
    """PyTorch's map entering each MaxPool2d with indices, by module path."""
    seen, hooks = {}, []
    for name, m in module.named_modules():
        if isinstance(m, torch.nn.MaxPool2d) and m.return_indices:
            hooks.append(m.register_forward_pre_hook(lambda mod, a, name=name: seen.__setitem__(name, a[0].numpy())))
    with torch.no_grad():
        module(torch.as_tensor(x))
    for h in hooks:
        h.remove()
    return {name.rsplit(".", 1)[0]: v for name, v in seen.items()}


def flips(got, want, before) -> tuple:
    """(windows whose index differs, windows in all, the largest gap between PyTorch's values at the two picks)."""
    got, want = got.astype(np.int64), want.astype(np.int64)
    n, c, i, j = np.nonzero(got != want)
    flat = before.reshape(before.shape[0], before.shape[1], -1)
    gaps = np.abs(flat[n, c, want[n, c, i, j]] - flat[n, c, got[n, c, i, j]])
    return len(n), int(got.size), float(gaps.max(initial=0.0))


def routed(module, x, indices: dict) -> np.ndarray:
    """PyTorch's output when each pool keeps the indices given (LiteRT's) instead of its own."""
    hooks = [m.register_forward_hook(lambda mod, a, out, name=name: (out[0], torch.as_tensor(
        indices[name.rsplit(".", 1)[0]]).long())) for name, m in module.named_modules()
             if isinstance(m, torch.nn.MaxPool2d) and m.return_indices]
    with torch.no_grad():
        out = module(torch.as_tensor(x)).numpy()
    for h in hooks:
        h.remove()
    return out


def self_diff(module, x, tol) -> str:
    with torch.no_grad():
        a = module(torch.as_tensor(x))
        with torch.backends.mkldnn.flags(enabled=False):
            b = module(torch.as_tensor(x))
    d = (a - b).abs()
    return f"{d.max().item():.3g} ({int((d > tol).sum()):,} of {d.numel():,} values over the tolerance)"


def measure(folder: Path) -> list[str]:
    c = compile_spec(ROOT / "specs" / "segnet.yaml")
    shape, module = c.graph.input_shape, lowered(c.graph).eval()
    xs = runtime.inputs(shape, SAMPLES, SEED)
    want = [runtime.run_torch(module, x)[0] for x in xs]
    tol = tolerance(max(float(np.abs(w).max()) for w in want), depth(c.graph))
    cut, names = pool_indices(module)
    lite = Model(convert(cut, shape, folder / "pools.tflite", "segnet-encoder"))
    whole = Model(convert(module, shape, folder / "segnet.tflite", "segnet"))
    sess = runtime.session(str(export_onnx(c.graph, folder / "segnet.onnx", module=module).path), 1)
    lines = [f"Tolerance (the build's rule, output scale {max(float(np.abs(w).max()) for w in want):.3g}, depth "
             f"{depth(c.graph)}): {tol:.3g}.", ""]
    for k, x in enumerate(xs):
        torch_idx, before = runtime.run_torch(cut, x), pool_inputs(module, x)
        ort = float(np.abs(runtime.run_ort(sess, x)[0] - want[k]).max())
        lite_idx, lite_out = lite.run(x), whole.run(x)[0]
        own = float(np.abs(lite_out - want[k]).max())
        given = float(np.abs(lite_out - routed(module, x, dict(zip(names, lite_idx)))).max())
        lines += [f"Seeded input {k + 1} of {len(xs)}:", "",
                  f"- PyTorch (oneDNN) against PyTorch with oneDNN off: {self_diff(module, x, tol)}",
                  f"- ONNX Runtime against PyTorch: {ort:.3g}",
                  f"- LiteRT against PyTorch: {own:.3g}; against PyTorch given LiteRT's pooling indices (from the "
                  f"converted encoder): {given:.3g}", "",
                  "| pool | LiteRT indices that differ from PyTorch's | windows | largest gap between the two picks |",
                  "|---|---|---|---|"]
        for name, got, ref in zip(names, lite_idx, torch_idx):
            differ, total, gap = flips(got, ref, before[name])
            lines.append(f"| {name} | {differ} | {total:,} | {gap:.2g} |")
        lines.append("")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--md", default=str(ROOT / "benchmarks" / "segnet_ties.md"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="segnet-ties-") as tmp:
        lines = measure(Path(tmp))
    head = ["# SegNet's near-tied pooling windows (issue 25)", "", __doc__.split("\n\n")[0].replace("\n", " "), "",
            f"specs/segnet.yaml at 3x352x480, the build's seeded weights, the verification's {SAMPLES} seeded inputs "
            f"(seed {SEED}); torch {torch.__version__}; load average {os.getloadavg()[0]:.2f} (nothing is timed).", ""]
    text = "\n".join(head + lines) + ("\nReproduce: `nice -n 10 python benchmarks/segnet_ties.py` "
                                      "(needs archc[litert]).\n")
    Path(args.md).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
