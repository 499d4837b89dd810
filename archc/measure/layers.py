"""Per-layer latency: ONNX Runtime's profile (Chrome-trace JSON, one `Node` event per
kernel per run) mapped back to spec paths, then to the summary's layers, rows and stages.

    archc profile specs/fastscnn.yaml --per-layer --json

ORT profiles the graph it optimized at ORT_ENABLE_ALL, not ours: Conv+BN+ReLU(+Add)
become one FusedConv named after the conv, NCHWc kernels are renamed `<output>_nchwc`,
an int8 model's DequantizeLinear -> Conv -> QuantizeLinear becomes one QLinearConv named
`<conv>_token_<n>`, and ReorderInput/ReorderOutput layout nodes appear. The runner saves that optimized
graph; each of its nodes is traced to a node of the exported model by name, by the
tensor it ends in, or (layout reorders) by the node it feeds or drains, and a fused
conv's time is the conv's, as the folded BN's is (BN has no node left at all).
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from statistics import median

from archc.errors import ExportError
from archc.ops import OPS

PATH_KEY = "archc.path"  # written by archc.torch.provenance.name_nodes
CONVS = ("Conv", "FusedConv", "ConvTranspose", "QLinearConv", "ConvInteger")
UNATTRIBUTED = "(unattributed)"


def source_index(model) -> tuple[dict, dict, dict]:
    """(node name -> spec path, tensor -> producing node, node name -> node) of the exported model."""
    paths, producer, nodes = {}, {}, {}
    for n in model.graph.node:
        meta = {p.key: p.value for p in n.metadata_props}
        paths[n.name] = meta.get(PATH_KEY, n.name.split("#")[0])
        nodes[n.name] = n
        producer.update({o: n.name for o in n.output})
    _quantizers_to_layers(model, paths, producer)
    return paths, producer, nodes


QDQ = ("QuantizeLinear", "DequantizeLinear")


def _quantizers_to_layers(model, paths: dict, producer: dict) -> None:
    """An int8 model's QuantizeLinear / DequantizeLinear nodes that the quantizer added (they carry no spec
    path) are the cost of a layer: quantizing its output is the layer that made it; dequantizing an input
    is the layer that reads it (one that runs in float: LayerNorm, Softmax)."""
    ops, readers = {n.name: n.op_type for n in model.graph.node}, {}
    for n in model.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n.name)
    for n in model.graph.node:
        if n.op_type not in QDQ or any(p.key == PATH_KEY for p in n.metadata_props):
            continue
        near = [producer.get(n.input[0])] if n.op_type == "QuantizeLinear" else readers.get(n.output[0], [])
        near = [m for m in near if m is not None and ops[m] not in QDQ]
        if near:
            paths[n.name] = paths[near[0]]


def trace(optimized, model) -> dict:
    """Optimized node name -> spec path (UNATTRIBUTED when nothing traces back)."""
    paths, producer, nodes = source_index(model)
    consumers = defaultdict(list)
    for n in optimized.graph.node:
        for i in n.input:
            consumers[i].append(n)
    memo: dict = {}

    def source(n, depth=0):
        if n.name in memo:
            return memo[n.name]
        base = _base(n.name)
        name = n.name if n.name in nodes else base if base in nodes else next(
            (producer[o] for o in (base, *n.output) if o in producer), None)
        if name is None and depth < 8 and n.op_type == "ReorderInput":  # feeds the kernel that wanted NCHWc
            nxt = next(iter(consumers.get(n.output[0], [])), None)
            name = source(nxt, depth + 1) if nxt is not None else None
        memo[n.name] = name
        return name

    out = {}
    for n in optimized.graph.node:
        src = source(n)
        if src is not None and n.op_type in CONVS:
            src = _conv_above(src, nodes, producer)
        out[n.name] = paths.get(src, UNATTRIBUTED) if src else UNATTRIBUTED
    return out


def _base(name: str) -> str:
    """The exported node behind an optimized one's name: NCHWc kernels are `<output>_nchwc`, the
    QLinearConv / QLinearAdd that ORT fuses from an int8 model's DequantizeLinear → op → QuantizeLinear
    is `<op's name>_token_<n>`, and other rewrites append their own suffix (below)."""
    name = name[: -len("_nchwc")] if name.endswith("_nchwc") else name
    return _ORT_SUFFIXES.sub("", name)


# what ORT's optimizer appends to the node it rewrites: a fused QDQ group's `_token_<n>`, a DequantizeLinear it
# copies for each reader `/duplicated`, a fusion's `/GatherSliceToSplitFusion`
_ORT_SUFFIXES = re.compile(r"(?:_token_\d+|/duplicated|/[A-Za-z]+Fusion)+$")


def _conv_above(name: str, nodes: dict, producer: dict) -> str:
    """A fused conv is named after its last op (ReLU, Add): walk up its data inputs to the conv."""
    seen = name
    for _ in range(4):
        node = nodes[name]
        if node.op_type in CONVS:
            return name
        ups = [producer[i] for i in node.input if i in producer]
        if not ups:
            break
        convs = [u for u in ups if nodes[u].op_type in CONVS]
        name = convs[0] if convs else ups[0]
    return seen


def node_times(events: list, warmup: int) -> tuple[dict, list]:
    """(optimized node name -> median kernel ms over the timed runs, end-to-end ms per timed run)."""
    per_node = defaultdict(list)
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            per_node[e["name"][: -len("_kernel_time")]].append(e["dur"] / 1e3)
    runs = [e["dur"] / 1e3 for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    return {k: median(v[warmup:] or v) for k, v in per_node.items()}, runs[warmup:] or runs


def attribute(profile_file: str, optimized_file: str, model, warmup: int) -> dict:
    """Spec path -> median ms, plus the per-node sum and ORT's own end-to-end median."""
    import onnx

    try:
        events = json.loads(open(profile_file).read())
        optimized = onnx.load(optimized_file, load_external_data=False)
    except (OSError, ValueError) as exc:
        raise ExportError(f"cannot read ONNX Runtime's profile: {exc}") from exc
    times, runs = node_times(events, warmup)
    names = trace(optimized, model)
    by_path: dict = defaultdict(float)
    for node, ms in times.items():
        by_path[names.get(node, UNATTRIBUTED)] += ms
    return {"paths": dict(by_path), "node_sum_ms": sum(times.values()),
            "session_median_ms": median(runs) if runs else None}


def rows_of(graph) -> dict:
    """Layer name -> `stage.row`, the spec table row it came from (`gfe.1.2.expand.conv` -> `gfe.1`)."""
    return {n.name: f"{n.stage}.{n.row}" for n in graph if OPS[n.op].layer}


def per_layer(report, rows: dict, attributed: dict, end_to_end_ms: float) -> dict:
    """The `--per-layer` JSON: every summary layer with its ms, share, MACs and GMAC/s; rows; stages."""
    paths, total = attributed["paths"], attributed["node_sum_ms"] or 1.0
    layers = [_entry({"name": l.name, "op": l.op, "stage": l.stage, "row": rows.get(l.name, l.stage), "macs": l.macs},
                     paths.get(l.name, 0.0), total) for l in report.layers]
    groups = {key: _group(layers, key, total) for key in ("row", "stage")}
    known = {l.name for l in report.layers}
    return {"layers": layers, "rows": groups["row"], "stages": groups["stage"],
            "unattributed_ms": round(sum(v for k, v in paths.items() if k not in known), 4),
            **_sums(attributed, end_to_end_ms)}


def by_path(attributed: dict, end_to_end_ms: float) -> dict:
    """For an .onnx file without its spec: one entry per spec path the model's nodes carry."""
    total = attributed["node_sum_ms"] or 1.0
    layers = [_entry({"name": p, "macs": 0}, ms, total) for p, ms in attributed["paths"].items() if p != UNATTRIBUTED]
    return {"layers": layers, "unattributed_ms": round(attributed["paths"].get(UNATTRIBUTED, 0.0), 4),
            **_sums(attributed, end_to_end_ms)}


def _sums(attributed: dict, end_to_end_ms: float) -> dict:
    """How the per-node sum compares with the end-to-end median (the profiler adds its own overhead)."""
    node_sum = attributed["node_sum_ms"]
    return {"node_sum_ms": round(node_sum, 4), "end_to_end_median_ms": end_to_end_ms,
            "node_sum_ratio": round(node_sum / end_to_end_ms, 3) if end_to_end_ms else None,
            "profiled_run_median_ms": attributed["session_median_ms"]}


def _entry(layer: dict, ms: float, total: float) -> dict:
    return {**layer, "ms": round(ms, 4), "share": round(ms / total, 4),
            "gmacs_per_s": round(layer["macs"] / ms / 1e6, 3) if ms > 0 and layer["macs"] else None}


def _group(layers: list, key: str, total: float) -> list:
    acc: dict = {}
    for l in layers:
        g = acc.setdefault(l[key], {"name": l[key], "ms": 0.0, "macs": 0})
        g["ms"] += l["ms"]
        g["macs"] += l["macs"]
    return [_entry({"name": g["name"], "macs": g["macs"]}, g["ms"], total) for g in acc.values()]
