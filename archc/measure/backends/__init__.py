"""More runtimes than ONNX Runtime, by name: each loads the verified ONNX model its own way and
must match PyTorch (1e-4 for float32) on archc's seeded inputs before it is timed.

    archc profile specs/fastscnn.yaml --runtime openvino
    archc benchmark specs/mobilenetv2.yaml

A back end is a module with `load(onnx_path, shape, threads, folder) -> (run(x) -> [outputs], bytes)`;
a missing package is a one-line refusal with its install command.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from archc.errors import ExportError
from archc.onnx import runtime
from archc.measure.profile import Runner
from archc.onnx.verify import ABS_TOL as TOLERANCE, SAMPLES, SEED  # 1e-4: float32 back ends at unit scale

BACKENDS = {"openvino": ("archc.measure.backends.openvino", "openvino", "OpenVINO"),
            "ncnn": ("archc.measure.backends.ncnn", "ncnn", "ncnn"),
            "litert": ("archc.measure.backends.litert", "ai_edge_litert",
                       "LiteRT")}  # name -> (module, package, as printed)
NEEDS = {"litert": ("ai_edge_litert", "litert_torch")}  # every package a back end imports, if more than one


def available(name: str) -> bool:
    return all(importlib.util.find_spec(p) is not None for p in NEEDS.get(name, (BACKENDS[name][1],)))


def load(name: str, onnx_path: Path, shape, threads: int, folder: Path, module=None):
    """`module`: the torch module, for a back end that converts from PyTorch (LiteRT), not from ONNX."""
    if not available(name):
        raise ExportError(f"--runtime {name}: {BACKENDS[name][2]} is not installed; pip install 'archc[{name}]'")
    extra = {"module": module} if name in NEEDS else {}
    return importlib.import_module(BACKENDS[name][0]).load(Path(onnx_path), tuple(shape), threads, Path(folder),
                                                           **extra)


def max_diff(run, module, shape) -> float:
    """Largest |back end - PyTorch| over archc's seeded verification inputs."""
    worst = 0.0
    for x in runtime.inputs(shape, SAMPLES, SEED):
        for got, want in zip(run(x), runtime.run_torch(module, x), strict=True):
            got = np.asarray(got).reshape(want.shape)  # ncnn drops the batch axis
            worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - want))))
    return worst


def verified_runner(name: str, onnx_path: Path, module, shape, threads: int, folder: Path) -> tuple:
    """(timing Runner, max diff, model bytes) for back end `name`, after it matched PyTorch within TOLERANCE."""
    run, size = load(name, onnx_path, shape, threads, folder, module)
    diff = max_diff(run, module, shape)
    if not diff <= TOLERANCE:
        raise ExportError(f"--runtime {name}: {BACKENDS[name][2]} differs from PyTorch by up to {diff:.3g} "
                          f"(tolerance {TOLERANCE:g}) on {SAMPLES} seeded inputs; not timed")
    x = runtime.inputs(shape, 1, SEED)[0]
    return Runner(name, threads, tuple(shape), lambda: run(x), f"{Path(onnx_path).stem}.{name}"), diff, size
