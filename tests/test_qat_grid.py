"""`archc train --qat` follows the quantize pass it will be exported with (issue 25): with
`--pass quantize=int8[,per_channel=false][,reduce_range=false]` the fake quantization trains on the very weight
grid that ONNX Runtime's int8 export then stores. Pinned against the exported file: its int8 weights and
scales are read back with onnx and compared with the folded, fake-quantized weights of the trained module.
quantize-report builds PTQ and QAT under one setting and refuses a QAT run trained for another."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from typer.testing import CliRunner

from archc.cli import app
from archc.litert import available
from tinyspec import ok as _ok
from tinyspec import trained_tiny

runner = CliRunner()
PER_TENSOR = "quantize=int8,per_channel=false"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny net (conv+BN, depthwise+BN, pointwise+BN, a 1x1 conv with bias) trained one epoch."""
    return trained_tiny(tmp_path_factory.mktemp("grid"))


def _qat(base, name: str, pass_: str | None):
    """A --qat run of one epoch from the base run (made once per module and name)."""
    if (base / name / "model.int8.onnx").exists():
        return base / name
    args = ["train", str(base / "tiny.yaml"), "--data", str(base / "data"), "--epochs", "1", "--batch", "4",
            "--out", str(base / name), "--qat", "--weights", str(base / "run" / "weights.pt"), "--lr", "1e-4"]
    _ok(args + (["--pass", pass_] if pass_ else []))
    return base / name


def _trained(base, run, pass_: str | None):
    """The run's weights in the fake-quantized module, in eval mode (the running statistics the export folds)."""
    from archc.compile import compile_spec
    from archc.torch.lower import lower
    from archc.train import qat

    c = compile_spec(str(base / "tiny.yaml"), [pass_] if pass_ else [])
    module = qat.prepare(lower(c.graph, 0), c.graph.input_shape, qat.Grid.of(c.quantize))
    module.load_state_dict(torch.load(run / "weights.pt", weights_only=True))
    return module.eval()


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("pass_, qmax, per_channel", [
    (None, 64, True), (PER_TENSOR, 64, False), (PER_TENSOR + ",reduce_range=false", 127, False),
    ("quantize=int8,reduce_range=false", 127, True)])
def test_the_fake_quant_grid_is_the_exported_int8_grid(base, pass_, qmax, per_channel):
    from archc.train import qat

    run = _qat(base, f"qat{qmax}{per_channel}", pass_)
    init = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(run / "model.int8.onnx")).graph.initializer}
    module, layers = _trained(base, run, pass_), 0
    for name, layer in module.named_modules():
        if not isinstance(layer, (qat.QatConv2d, qat.QatLinear)):
            continue
        layers += 1
        ints, scale = init[f"{name}.weight_quantized"], init[f"{name}.weight_scale"].astype(np.float64)
        assert ints.dtype == np.int8 and scale.shape == ((ints.shape[0],) if per_channel else ())
        assert int(np.abs(ints).max()) == qmax  # the largest weight (of each channel) lands on the grid's end
        weight, fake = (t.numpy().astype(np.float64) for t in qat.folded(layer))
        step = scale.reshape(-1, *[1] * (ints.ndim - 1)) if per_channel else scale
        want = (np.abs(weight).reshape(len(weight), -1).max(1) if per_channel else np.abs(weight).max()) / qmax
        np.testing.assert_allclose(scale, want, rtol=1e-6)  # the scale QAT used is the file's
        assert np.abs(ints * step - fake).max() <= 1e-6 * np.abs(fake).max()  # and so is every rounded weight
    assert layers == 4
    metrics = (run / "metrics.json").read_text()
    assert (f'"quantize": "{pass_}"' in metrics) == bool(pass_)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_per_tensor_rounds_the_folded_weight(base):
    """Per tensor, the export rounds the conv with batch norm folded into it (one scale over channels that
    the norm scaled differently), so the unfolded weight rounded on one grid is not what the file holds."""
    from archc.train import qat

    run = _qat(base, "qat64False", PER_TENSOR)
    conv = _trained(base, run, PER_TENSOR).get_submodule("body.1.0.depthwise.conv")
    assert conv.qat_bn, "the depthwise conv feeds batch norm"
    init = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(run / "model.int8.onnx")).graph.initializer}
    name = "body.1.0.depthwise.conv.weight"
    stored = init[f"{name}_quantized"] * init[f"{name}_scale"].astype(np.float64)
    factor = qat._fold(conv).detach().numpy().astype(np.float64).reshape(-1, 1, 1, 1)
    unfolded = qat._weight(conv.weight.detach(), conv.qat_grid).numpy() * factor
    _, fake = qat.folded(conv)
    assert np.abs(stored - fake.numpy()).max() <= 1e-6 * np.abs(stored).max()
    assert np.abs(stored - unfolded).max() > 0.1 * np.abs(stored).max() / 64  # off the grid by a tenth of a step


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_report_quantizes_ptq_and_qat_on_the_given_grid(base, tmp_path):
    run = _qat(base, "qat64False", PER_TENSOR)
    common = ["quantize-report", str(base / "tiny.yaml"), "--weights", str(base / "run" / "weights.pt"),
              "--data", str(base / "data"), "--qat", str(run), "--runs", "1", "--warmup", "0", "--images", "1"]
    refused = runner.invoke(app, common + ["--out", str(tmp_path / "mixed")])  # PTQ per channel, QAT per tensor
    errors = [ln for ln in refused.output.strip().splitlines() if ln.startswith("archc: error")]
    assert refused.exit_code == 2 and len(errors) == 1 and "per_channel=false" in errors[0], refused.output
    assert not (tmp_path / "mixed").exists()
    _ok(common + ["--pass", PER_TENSOR, "--out", str(tmp_path / "qr")])
    for kind in ("ptq", "qat"):
        model = onnx.load(str(tmp_path / "qr" / "models" / kind / "model.int8.onnx"))
        scales = [numpy_helper.to_array(t) for t in model.graph.initializer if t.name.endswith(".weight_scale")]
        assert len(scales) == 4 and all(s.shape == () for s in scales)
        if available():  # LiteRT's int8 (ai-edge-quantizer) takes the same setting: one scale per conv filter
            assert [len(s) for s in _tflite_filter_scales(tmp_path / "qr" / "models" / kind / "model.int8.tflite")
                    ] == [1, 1, 1, 1]
    bad = runner.invoke(app, common + ["--pass", "quantize=fp16"])
    assert bad.exit_code == 2 and bad.output.strip().splitlines()[-1].startswith("archc: error: --pass quantize=fp16")


def test_qat_refuses_a_pass_that_is_not_int8(base, tmp_path):
    result = runner.invoke(app, ["train", str(base / "tiny.yaml"), "--data", str(base / "data"), "--epochs", "1",
                                 "--out", str(tmp_path / "run"), "--qat", "--weights", str(base / "run" / "weights.pt"),
                                 "--pass", "quantize=fp16"])
    assert result.exit_code == 2 and not (tmp_path / "run").exists(), result.output
    assert result.output.strip().splitlines()[-1].startswith("archc: error: --qat --pass quantize=fp16")


def _tflite_filter_scales(path) -> list:
    """The quantization scales of every conv's filter in a .tflite model, read with the LiteRT interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(str(path))
    tensors = {d["index"]: d for d in interp.get_tensor_details()}
    return [tensors[op["inputs"][1]]["quantization_parameters"]["scales"] for op in interp._get_ops_details()
            if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
