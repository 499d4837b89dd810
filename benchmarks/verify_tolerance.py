"""Verification's difference against its tolerance for deep plain nets (N rows of conv_bn_act):
float32 rounding error grows with depth and output scale, so the tolerance does too.

    python benchmarks/verify_tolerance.py 10 50 100
"""
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archc.compile import compile_spec  # noqa: E402
from archc.onnx.export import export_onnx  # noqa: E402
from archc.onnx.verify import simplify_and_verify  # noqa: E402

ROW = "      - {op: conv_bn_act, c: 16}\n"


def spec(rows: int) -> str:
    return f"name: deep{rows}\ninput: [3, 64, 64]\nstages:\n  - id: a\n    rows:\n" + ROW * rows


def main(depths):
    print("| rows | depth | output scale | max abs diff | tolerance | diff / tolerance |")
    print("|---|---|---|---|---|---|")
    for rows in depths:
        compiled = compile_spec(f"deep{rows}.yaml", text=spec(rows))
        with tempfile.TemporaryDirectory() as tmp:
            exported = export_onnx(compiled.graph, Path(tmp) / "model.onnx")
            from archc.onnx.verify import depth
            import onnx

            layers = depth(onnx.load(str(exported.path)))
            c = simplify_and_verify(exported, compiled.graph.input_shape)
        print(f"| {rows} | {layers} | {c.output_scale:.3g} | {c.max_abs_diff:.3g} | {c.tolerance:.3g} | "
              f"{c.max_abs_diff / c.tolerance:.3f} |", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 50, 100])
