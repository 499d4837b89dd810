"""Export, simplify and verify: the ONNX file is one checked file, named by spec path,
matches PyTorch, and every failure is one `archc: error:` line with no output left."""
from __future__ import annotations

import re

import json

import numpy as np
import pytest
from conftest import SMALL, SPEC_DIR
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec
from archc.errors import ExportError

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_build_writes_one_checked_verified_file(small_build):
    import onnx

    _, out, summary = small_build
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "model.int8.onnx", "model.onnx", "spec.yaml", "summary.json", "weights.pt"]  # no .data side file
    model = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert summary == json.loads((out / "summary.json").read_text())
    v, o = summary["verify"], summary["onnx"]
    from archc.onnx.verify import depth, tolerance

    assert v["max_abs_diff"] <= v["tolerance"] == pytest.approx(tolerance(v["output_max_abs"], depth(model)))
    assert v["output_max_abs"] > 0.1  # weights are scaled so that the check is not vacuous
    assert o["nodes_exported"] >= o["nodes"] > 0 and o["simplified"]
    assert o["batchnorm_left"] == 0 and "BatchNormalization" not in o["ops"]  # folded


def test_onnx_nodes_are_named_by_spec_path(small_build):
    import onnx

    compiled, out, _ = small_build
    model = onnx.load(str(out / "model.onnx"))
    meta = {n.name: {p.key: p.value for p in n.metadata_props} for n in model.graph.node}
    assert all(m["archc.path"] in compiled.graph for m in meta.values())
    assert meta["gfe.0.1.expand.conv"]["archc.fused"] == "gfe.0.1.expand.bn"
    assert "gfe.0.1.residual" in meta and "ffm.0.0.add" in meta  # function calls too
    # the PPM's one shared conv runs four times: four names, one weight tensor
    assert {f"gfe.ppm.0.branch.{i}.conv.conv" for i in range(4)} <= set(meta)
    weights = [i.name for i in model.graph.initializer if i.name.startswith("gfe.ppm.0.branch")]
    assert weights == ["gfe.ppm.0.branch.0.conv.conv.weight"]
    assert not any(p.key.startswith("pkg.") for n in model.graph.node for p in n.metadata_props)


def test_cli_build_fastscnn_width_0125(tmp_path):
    """The issue's command: 512x512, width 0.125; the note gives node counts."""
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(SPEC_DIR / "fastscnn.yaml"), "--pass", "width=0.125", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "ONNX nodes exported" in result.output and "after onnxslim" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["params"] == 25367 and summary["verify"]["max_abs_diff"] <= 1e-4


@pytest.mark.parametrize("size", [512, 256, 192, 160])
def test_ppm_exports_and_verifies_at_every_size(tmp_path, size):
    """Adaptive pooling to 1, 2, 4, 8 bins: fixed windows where they divide the map, else torch's."""
    from archc.onnx.export import export_onnx
    from archc.onnx.verify import simplify_and_verify

    c = compile_spec(SPEC_DIR / "fastscnn.yaml", ["width=0.125"], f"3x{size}x{size}")
    checked = simplify_and_verify(export_onnx(c.graph, tmp_path / "m.onnx"), c.graph.input_shape)
    assert checked.max_abs_diff <= 1e-4


def test_dynamic_batch(tmp_path):
    from archc.deploy.artifacts import BuildOptions, write_build

    c = compile_spec(SPEC_DIR / "mobilenetv2.yaml", ["width=0.35"], "3x64x64")
    summary = write_build(c, tmp_path / "o", options=BuildOptions(dynamic_batch=True))
    assert summary["onnx"]["dynamic_batch"] and "batch of 2" in summary["verify"]["inputs"]
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "o" / "model.onnx"))
    assert sess.run(None, {"input": np.zeros((3, 3, 64, 64), np.float32)})[0].shape == (3, 1000)


PROGRESS = re.compile(r"^[a-z][\w ]* \d+/\d+ \(\d+\.\d s\)")  # `build 1/2 (3.1 s): exported ...`


def _fails(args, tmp_path, *needles):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [l for l in result.output.splitlines()  # pass notes and progress lines aside
             if l.strip() and not l.startswith("note: ") and not PROGRESS.match(l)]
    assert len(lines) == 1 and lines[0].startswith("archc: error:"), result.output
    assert result.output.rstrip().splitlines()[-1] == lines[0]  # the error is the last line
    for needle in needles:
        assert needle in lines[0]
    assert not out.exists() and not list(tmp_path.glob(".out.*"))  # nothing partial left
    return lines[0]


SMALL_ARGS = [str(SPEC_DIR / "fastscnn.yaml"), "--pass", SMALL["passes"][0], "--input", SMALL["input"]]


def test_dynamic_hw_is_refused_with_the_reason(tmp_path):
    _fails(SMALL_ARGS + ["--dynamic-hw"], tmp_path, "gfe.ppm.0.branch.0.pool", "--dynamic-batch")


def test_unsupported_op(tmp_path, monkeypatch):
    from dataclasses import replace

    from archc.ops import OPS

    monkeypatch.setitem(OPS, "concat", replace(OPS["concat"], call=None))
    _fails(SMALL_ARGS, tmp_path, "gfe.ppm.0.cat", "no torch lowering")


def test_export_error(tmp_path, monkeypatch):
    import torch

    def broken(*a, **k):
        raise RuntimeError("aten::frobnicate is not supported\nlong details")

    monkeypatch.setattr(torch.onnx, "export", broken)
    _fails(SMALL_ARGS, tmp_path, "ONNX export of 'fastscnn' failed", "frobnicate")


def test_verification_over_tolerance(tmp_path, monkeypatch):
    from archc.onnx import runtime

    real = runtime.run_torch
    # a wrong graph is off by the order of the output scale; the tolerance is far below that
    monkeypatch.setattr(runtime, "run_torch", lambda m, x: [o + 0.5 for o in real(m, x)])
    _fails(SMALL_ARGS, tmp_path, "verification failed", "for output scale")


def test_simplifier_error_keeps_the_exported_model_and_says_so(tmp_path, monkeypatch):
    import onnxsim

    def broken(*a, **k):
        raise ValueError("simplifier exploded")

    monkeypatch.setattr(onnxsim, "simplify", broken)
    result = runner.invoke(app, ["build", *SMALL_ARGS, "--simplifier", "onnxsim", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "archc: warning: kept the unsimplified model: onnxsim failed" in " ".join(result.output.split())
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert not summary["onnx"]["simplified"] and "simplifier exploded" in summary["onnx"]["simplify_note"]
    assert summary["onnx"]["nodes"] == summary["onnx"]["nodes_exported"]


@pytest.mark.parametrize("outcome", ["check_failed", "changes_outputs"])
def test_simplified_model_kept_only_if_it_matches(small_build, monkeypatch, outcome):
    import onnx
    import onnxsim

    from archc.onnx.export import Exported
    from archc.onnx.verify import simplify_and_verify
    from archc.torch.weights import lower_seeded

    compiled, out, _ = small_build
    logits = [n.name for n in compiled.graph if n.op == "conv"][-1] + ".bias"  # the class conv's bias

    def fake(model, **kwargs):
        bad = onnx.ModelProto()
        bad.CopyFrom(model)
        for init in bad.graph.initializer:
            if init.name == logits:  # shift the logits: outputs change
                init.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(init) + 1, init.name))
        return bad, outcome == "changes_outputs"

    monkeypatch.setattr(onnxsim, "simplify", fake)
    exported = Exported(out / "model.onnx", lower_seeded(compiled.graph), 0, False)
    checked = simplify_and_verify(exported, compiled.graph.input_shape, "onnxsim")
    assert not checked.simplified and checked.max_abs_diff <= 1e-4
    assert ("own check" if outcome == "check_failed" else "differs from PyTorch") in checked.note


def test_weights_are_deterministic_and_well_scaled():
    import torch

    from archc.torch.weights import lower_seeded

    c = compile_spec(SPEC_DIR / "fastscnn.yaml", ["width=0.125"], "3x64x64")
    a, b = lower_seeded(c.graph).state_dict(), lower_seeded(c.graph).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["ltd.0.0.bn.running_var"], torch.ones_like(a["ltd.0.0.bn.running_var"]))


def test_export_error_messages_are_one_line():
    assert "\n" not in str(ExportError("a\nb"))
