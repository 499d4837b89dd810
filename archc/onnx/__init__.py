"""ONNX and runtimes: export, simplify + verify, quantize, calibration, ONNX Runtime sessions, profiling and
the build output folder."""
