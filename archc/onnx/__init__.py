"""ONNX: export, simplify + verify, quantize and its calibration, ONNX Runtime sessions."""
