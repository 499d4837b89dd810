"""Outputs are all-or-nothing, oversized models are refused before allocation,
and the same spec gives the same bytes."""
import hashlib
import time

import pytest
from typer.testing import CliRunner

import archc.deploy.artifacts
from archc.cli import app
from archc.compile import compile_spec
from archc.errors import ArchcError, ExportError, GraphError
from archc.torch.lower import lower

runner = CliRunner()
SMALL = ["specs/fastscnn.yaml", "--pass", "width=0.25", "--input", "3x256x256"]


@pytest.mark.parametrize("failure", [KeyboardInterrupt, lambda *a: ExportError("export exploded"),
                                     lambda *a: RuntimeError("bug")])
def test_a_build_that_stops_midway_leaves_nothing(tmp_path, monkeypatch, failure):
    def broken_export(graph, path, module=None):
        path.write_bytes(b"half an onnx file")  # something was already written when it failed
        raise failure() if isinstance(failure, type) else failure()

    monkeypatch.setattr(archc.deploy.artifacts, "export_onnx", broken_export)
    result = runner.invoke(app, ["build", *SMALL, "--out", str(tmp_path / "out")])
    assert result.exit_code in (1, 2, 130)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rebuild_keeps_the_previous_output(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert runner.invoke(app, ["build", *SMALL, "--out", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(archc.deploy.artifacts, "export_onnx", lambda *a, **k: (_ for _ in ()).throw(ExportError("no")))
    assert runner.invoke(app, ["build", *SMALL, "--out", str(out)]).exit_code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_oversized_model_is_refused_before_allocation():
    graph = compile_spec("specs/mobilenetv2.yaml", input="3x32768x32768").graph
    start = time.process_time()  # CPU time: refused before allocating, however busy the machine
    with pytest.raises(GraphError, match="over the limit"):
        lower(graph)
    assert time.process_time() - start < 1
    assert compile_spec("specs/mobilenetv2.yaml", input="3x32768x32768").report.params == 3_504_872  # summary still works


def test_size_limit_is_overridable(monkeypatch):
    graph = compile_spec("specs/fastscnn.yaml", ["width=0.125"], "3x256x256").graph
    monkeypatch.setenv("ARCHC_MAX_ELEMENTS", "1000")
    with pytest.raises(GraphError, match="over the limit of 1,000"):
        lower(graph)


@pytest.mark.parametrize("field, value, message", [
    ("n", "100000", "repeats n=100000 is more than 1000"),
    ("c", "'$len(range(10**9))'", "range of 1000000000 items"),
    ("c", "99999999999999999999", "past the bound of 2,147,483,647"),
])
def test_huge_numbers_are_refused(field, value, message):
    fields = {"c": "8", field: value}
    row = ", ".join(f"{k}: {v}" for k, v in fields.items())
    text = f"name: huge\ninput: [3, 64, 64]\nstages:\n  - id: a\n    rows:\n      - {{op: conv_bn_act, {row}}}\n"
    start = time.process_time()
    with pytest.raises(ArchcError, match=message):
        lower(compile_spec("huge.yaml", text=text).graph)
    assert time.process_time() - start < 2


def test_same_spec_same_weights():
    graph = compile_spec("specs/fastscnn.yaml").graph
    a, b = lower(graph).state_dict(), lower(graph).state_dict()
    assert all((a[k] == b[k]).all() for k in a)


@pytest.mark.slow
def test_same_spec_same_onnx_bytes(tmp_path):
    digests = []
    for i in range(2):
        out = tmp_path / f"o{i}"
        assert runner.invoke(app, ["build", *SMALL, "--out", str(out)]).exit_code == 0
        digests.append(hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
