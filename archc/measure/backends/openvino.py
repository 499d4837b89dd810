"""OpenVINO's CPU plugin on the ONNX file, forced to float32 (it picks bf16 by default on CPUs
that have it, which would fail the 1e-4 check): `INFERENCE_PRECISION_HINT: f32`."""
from __future__ import annotations

from pathlib import Path

from archc.errors import ExportError


def load(onnx_path: Path, shape, threads: int, folder: Path, precision: str = "f32"):
    import openvino as ov

    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": threads,
              "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
    try:
        compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", config)
    except Exception as exc:  # OpenVINO raises RuntimeError subclasses with long texts
        raise ExportError(f"OpenVINO cannot compile the model: {str(exc).strip().splitlines()[0][:200]}") from exc
    request = compiled.create_infer_request()

    def run(x):
        request.infer({0: x})
        return [request.get_output_tensor(i).data.copy() for i in range(len(compiled.outputs))]

    return run, onnx_path.stat().st_size  # OpenVINO reads the ONNX file itself
