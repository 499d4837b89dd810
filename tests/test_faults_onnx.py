"""Faults of issue 17 at the ONNX end: NaN never verifies, models archc cannot feed are refused in one
line, calibration image bombs are refused from their header, cheap checks come before any export."""
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import archc.deploy.artifacts
from archc.cli import app
from archc.errors import ExportError
from archc.onnx import calib, verify

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
SMALL = ["specs/fastscnn.yaml", "--pass", "width=0.125", "--input", "3x64x64"]


def _model(nodes, inputs, outputs, inits=()):
    from onnx import helper

    graph = helper.make_graph(nodes, "m", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _float(name, shape):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


# 1: an output of NaN compares as neither larger nor smaller; it must fail, not pass as "diff 0"
class NaNNet(torch.nn.Module):
    def forward(self, x):
        return torch.sqrt(-x.abs() - 1)


def test_nan_outputs_fail_verification():
    from onnx import helper

    nodes = [helper.make_node("Abs", ["input"], ["a"]), helper.make_node("Neg", ["a"], ["n"]),
             helper.make_node("Sub", ["n", "one"], ["s"]), helper.make_node("Sqrt", ["s"], ["out"])]
    one = helper.make_tensor("one", 1, [], [1.0])
    model = _model(nodes, [_float("input", [1, 3, 4, 4])], [_float("out", [1, 3, 4, 4])], [one])
    with pytest.raises(ExportError, match="48 ONNX Runtime and 48 PyTorch output values of 48 are NaN"):
        verify.max_abs_diff(model, NaNNet(), (3, 4, 4))


def test_tolerance_grows_with_scale_and_depth():
    assert verify.tolerance(0.0, 0) == verify.ABS_TOL
    assert verify.tolerance(5.7, 100) > 0.0098 > verify.tolerance(5.7, 10)  # a valid 100-row net's diff


# 10: models `profile` cannot feed, or that fail at run time: one line, exit 2
def _cases():
    from onnx import TensorProto, helper

    i64 = helper.make_tensor_value_info("x", TensorProto.INT64, [1, 3, 8, 8])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [5, 5])
    return {
        "int64": _model([helper.make_node("Identity", ["x"], ["y"])], [i64],
                        [helper.make_tensor_value_info("y", TensorProto.INT64, [1, 3, 8, 8])]),
        "two inputs": _model([helper.make_node("Add", ["a", "b"], ["y"])],
                             [_float("a", [1, 3, 8, 8]), _float("b", [1, 3, 8, 8])], [_float("y", [1, 3, 8, 8])]),
        "no input": _model([helper.make_node("Constant", [], ["y"], value=helper.make_tensor("v", 1, [1], [1.0]))],
                           [], [_float("y", [1])]),
        "huge": _model([helper.make_node("Identity", ["x"], ["y"])], [_float("x", [1, 3, 100000, 100000])],
                       [_float("y", [1, 3, 100000, 100000])]),
        "fails at run time": _model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                                    [_float("x", [1, 3, 4, 4])], [_float("y", None)], [shape]),
    }


@pytest.mark.slow
def test_profile_refuses_models_it_cannot_feed(tmp_path):
    """In process for most; the run-time failure in a subprocess, where ORT's own log would reach stderr."""
    import onnx

    for name, model in _cases().items():
        path = tmp_path / f"{name.replace(' ', '_')}.onnx"
        onnx.save(model, str(path))
        args = ["profile", str(path), "--runs", "2", "--warmup", "0"]
        if name != "fails at run time":
            result = runner.invoke(app, args)
            assert result.exit_code == 2 and result.output.count("\n") == 1, (name, result.output)
            continue
        result = subprocess.run([sys.executable, "-m", "archc", *args], cwd=ROOT, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 2, (name, result.stderr)
        assert result.stderr.startswith("archc: error:") and result.stderr.count("\n") == 1, (name, result.stderr)


# 12: image bombs are refused from the header, before decoding, with no warning on stderr
def _png(path: Path, w: int, h: int) -> Path:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8-bit grey
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("w, h", [(20000, 10000), (10000, 10000)])
def test_calibration_image_bombs_are_refused(tmp_path, w, h):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL's DecompressionBombWarning would be a 2-line warning on stderr
        with pytest.raises(ExportError, match="pixels"):  # PIL refuses it at open, or our bound does
            calib.load(_png(tmp_path / "bomb.png", w, h), (3, 32, 32))


def test_a_normal_calibration_image_still_loads(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((40, 50, 3), 128, np.uint8)).save(tmp_path / "ok.png")
    assert calib.load(tmp_path / "ok.png", (3, 32, 32)).shape == (3, 32, 32)


# Also: cheap argument checks come before any export
@pytest.mark.parametrize("args, message", [(["--profile", "--runs", "0"], "--runs must be >= 1"),
                                           (["--pass", "quantize=int8", "--calib", "nowhere"], "not a directory")])
def test_bad_build_arguments_fail_before_export(tmp_path, monkeypatch, args, message):
    def no_export(*a, **k):
        raise AssertionError("exported before checking the arguments")

    monkeypatch.setattr(archc.deploy.artifacts, "export_onnx", no_export)
    result = runner.invoke(app, ["build", *SMALL, "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2 and message in result.output, result.output
