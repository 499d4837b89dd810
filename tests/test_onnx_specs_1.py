"""Every shipped spec exported to ONNX and run in ONNX Runtime equals its torch module (1e-4 of the
output's magnitude). The specs are split over this file and test_onnx_specs_2.py so that the two
xdist workers (--dist loadfile) share the ~5 minutes."""
import pytest
from test_specs import IDS, compiled, example_input


def check_onnx_equals_torch(name, tmp_path):
    import numpy as np
    import onnxruntime as ort
    import torch

    from archc.onnx.export import export_onnx

    exported = export_onnx(compiled(name).graph, tmp_path / "model.onnx")  # seeded weights, random BN statistics
    gm, path = exported.module, exported.path
    x = example_input(name)
    with torch.no_grad():
        want = gm(x)
    want = want if isinstance(want, tuple) else (want,)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x.numpy()})
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = w.numpy()
        assert g.shape == w.shape
        assert np.abs(g - w).max() <= 1e-4 * max(1.0, float(np.abs(w).max()))


@pytest.mark.slow
@pytest.mark.parametrize("name", IDS[0::2])
def test_onnx_runtime_equals_torch(name, tmp_path):
    check_onnx_equals_torch(name, tmp_path)
