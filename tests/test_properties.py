"""Rules that must hold for every spec, checked on generated ones: the IR's shapes
are torch's, the analysis is torchinfo's, and written-back YAML rebuilds the
same graph -- also after random pass pipelines."""
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

import archc
from archc.compile import compile_spec
from archc.lang.emit import emit
from archc.errors import ArchcError
from archc.lang.spec import load

from strategies import specs, widths
from torchcheck import assert_matches_torch

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def compile_text(spec: dict, passes=()):
    return compile_spec("generated.yaml", passes, text=yaml.safe_dump(spec, sort_keys=False))


@SETTINGS
@given(spec=specs())
def test_generated_specs_match_torch_and_torchinfo(spec):
    assert_matches_torch(compile_text(spec).graph)


@SETTINGS
@given(spec=specs(), width=widths())
def test_generated_specs_round_trip_through_yaml(spec, width):
    try:
        c = compile_text(spec, [f"width={width}"])
    except ArchcError as exc:
        assert str(exc).startswith("generated.yaml") or "pass 1 'width" in str(exc)
        return
    again = load("again.yaml", text=emit(c.spec))
    assert archc.build(again).signature() == c.graph.signature()


@settings(max_examples=4, deadline=None)
@given(spec=specs())
@pytest.mark.slow
def test_generated_specs_export_to_onnx_matching_torch(spec, tmp_path_factory):
    import numpy as np
    import onnxruntime as ort
    import torch

    from archc.onnx.export import export_onnx

    graph = compile_text(spec).graph
    exported = export_onnx(graph, tmp_path_factory.mktemp("onnx") / "m.onnx")
    module, path = exported.module, exported.path
    x = torch.randn(1, *graph.input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = module(x).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    assert np.abs(got - want).max() <= 1e-4
