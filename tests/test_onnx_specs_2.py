"""The other half of tests/test_onnx_specs_1.py's specs (every second one, from the second)."""
import pytest
from test_onnx_specs_1 import check_onnx_equals_torch
from test_specs import IDS


@pytest.mark.slow
@pytest.mark.parametrize("name", IDS[1::2])
def test_onnx_runtime_equals_torch(name, tmp_path):
    check_onnx_equals_torch(name, tmp_path)
