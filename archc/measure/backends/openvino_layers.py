"""Per-layer latency in OpenVINO: its CPU plugin's performance counters (`PERF_COUNT`, read with
`get_profiling_info()` after each run) mapped back to spec paths, as ORT's profile is in
archc/measure/layers.py.

    archc profile specs/fastscnn.yaml --runtime openvino --per-layer

OpenVINO names its nodes after the ONNX nodes: a conv whose bias was split off is
`<onnx node>/WithoutBiases`, a layout change before a node is `<from>_<layout>_<layout>_<to>`
(counted as `<to>`'s), and ops it fused into their producer (ReLU, Add) are `NOT_RUN` with 0 time,
so their time is the conv's, as in ORT. One request with counters on runs beside the timed one,
alternating, so both see the same machine; the counters of each timed round are kept, and a node's
time is its median over the rounds.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from statistics import median

from archc.measure import layers
from archc.onnx import runtime
from archc.measure.layers import UNATTRIBUTED, source_index
from archc.measure.profile import stats
from archc.measure.timing import Timing


def profile(onnx_path: Path, runner, report, rows: dict, timing: Timing) -> dict:
    """`profile --json` of the verified OpenVINO `runner` plus the per-layer keys of ORT's (layers,
    rows, stages, node_sum_ms ...): counted runs alternate with the timed ones."""
    import time

    import onnx

    request, times, warmup = counted_request(onnx_path, timing.threads), [], timing.warmup
    x = runtime.inputs(runner.input, 1, 0)[0]

    def timed():
        start = time.perf_counter()
        runner.run()
        times.append((time.perf_counter() - start) * 1e3)

    per_node = node_times(request, x, warmup, timing.runs, beside=timed)
    result = stats(runner, times[warmup:], warmup)
    attributed = attribute(per_node, onnx.load(str(onnx_path), load_external_data=False))
    return {**result, **layers.per_layer(report, rows, attributed, result["median_ms"])}


def counted_request(onnx_path: Path, threads: int, precision: str = "f32"):
    """An infer request of the model compiled like backends/openvino.py's, with PERF_COUNT on."""
    import openvino as ov

    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": threads,
              "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1, "PERF_COUNT": True}
    return core.compile_model(core.read_model(str(onnx_path)), "CPU", config).create_infer_request()


def node_times(request, x, warmup: int, runs: int, beside=None) -> dict:
    """OpenVINO node name -> median ms over the timed runs (executed nodes only); `beside` (the
    timed runner's run) goes once after each counted run."""
    import openvino as ov

    per_node = defaultdict(list)
    for i in range(warmup + runs):
        request.infer({0: x})
        if i >= warmup:
            for info in request.get_profiling_info():
                if info.status == ov.ProfilingInfo.Status.EXECUTED:
                    per_node[info.node_name].append(info.real_time.total_seconds() * 1e3)
        if beside is not None:
            beside()
    return {name: median(v) for name, v in per_node.items()}


def attribute(times: dict, model) -> dict:
    """`layers.attribute`'s result for OpenVINO's node times: spec path -> ms, and the per-node sum."""
    paths, producer, _ = source_index(model)
    by_path: dict = defaultdict(float)
    for name, ms in times.items():
        by_path[spec_path(name, paths, producer)] += ms
    return {"paths": dict(by_path), "node_sum_ms": sum(times.values()), "session_median_ms": None}


def spec_path(name: str, paths: dict, producer: dict | None = None) -> str:
    """The spec path of an OpenVINO node name (see the module's docstring); a node named after a
    tensor (the graph's `output`: the layout change after the last node) is its producer's."""
    base = name.split("/")[0]
    if base in paths:
        return paths[base]
    if producer and base in producer:
        return paths[producer[base]]
    ends = [n for n in paths if base.endswith("_" + n)]  # a layout reorder feeding node n
    return paths[max(ends, key=len)] if ends else UNATTRIBUTED
