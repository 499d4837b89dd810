"""Export: Graph IR -> one ONNX file whose node names are spec paths (imports torch
and onnx; nothing upstream does).

The dynamo exporter records, per ONNX node, the module path it came from. Before
exporting, every function call (add, concat, resize...) and every reuse of shared
weights is wrapped in a module at its own IR path, so every node can be named by
spec path. Sizes are static: lowering bakes the input size into resize and
adaptive pooling, and a dynamic-H/W dynamo export of adaptive pooling can give
silently wrong values, so only the batch may be dynamic.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from archc.errors import ExportError
from archc.ir.graph import Graph
from archc.ops import OPS

OPSET = 20


@contextlib.contextmanager
def quiet():
    """The exporter and ORT's tools log and warn a lot; a user only needs our one line."""
    levels = {name: logging.getLogger(name).level for name in ("", "torch", "onnxscript", "torch.onnx", "onnx_ir")}
    for name in levels:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@dataclass
class Exported:
    path: Path
    module: object  # the torch module (same weights) the ONNX model must match
    nodes: int  # ONNX nodes as exported
    dynamic_batch: bool


def check_lowerable(graph: Graph) -> None:
    """Every op needs a torch lowering; say which node lacks one before torch runs."""
    for node in graph:
        if not OPS[node.op].lowerable:
            raise ExportError(f"node '{node.name}': op '{node.op}' has no torch lowering, so it cannot be "
                              f"exported to ONNX; drop it or give its entry in archc/ops/ a lowering", node.mark)


def check_dynamic_hw(graph: Graph) -> None:
    """Refuse dynamic H/W: name the first node whose lowering is only right at the build size."""
    bound = next((n for n in graph if OPS[n.op].size_bound), None)
    where = (f"node '{bound.name}' ({bound.op}) {OPS[bound.op].size_bound}" if bound else
             "archc cannot yet check an ONNX graph at sizes it was not built for")
    raise ExportError(f"--dynamic-hw: {where}, so the model would be wrong at other input sizes; build one model "
                      f"per size with --input CxHxW (only the batch may be dynamic: --dynamic-batch)")


def export_onnx(graph: Graph, path: str | os.PathLike, dynamic_batch: bool = False, seed: int = 0,
                weights: dict | None = None, module=None) -> Exported:
    """Lower `graph` (weights drawn from `seed`, see weights.py, or `weights`: a state_dict keyed
    by spec path) and export it to one ONNX file at `path`; a `module` already lowered from `graph`
    (holding a paired checkpoint) is exported as it is."""
    from archc.torch.provenance import name_nodes, scoped
    from archc.torch.weights import lowered

    check_lowerable(graph)
    if module is None:
        module = lowered(graph, weights, seed=seed)  # same spec, same weights, same bytes
    model = export_module(scoped(module), graph.input_shape, len(graph.outputs), dynamic_batch, graph.name)
    name_nodes(model, graph)
    save_checked(model, path)
    return Exported(Path(path), module, len(model.graph.node), dynamic_batch)


def export_module(module, input_shape, outputs: int = 1, dynamic_batch: bool = False, name: str = "model"):
    """Any torch module -> ModelProto the way archc exports (dynamo, opset 20, BN folded by
    the exporter's optimizer, weights inside); benchmarks export hand-written models with it."""
    import torch

    x = torch.zeros(2 if dynamic_batch else 1, *input_shape)
    dynamic = ({0: torch.export.Dim("batch", min=1)},) if dynamic_batch else None
    names = [f"output{i}" if i else "output" for i in range(outputs)]
    try:
        with quiet(), torch.inference_mode(False):
            return torch.onnx.export(module, (x,), dynamo=True, external_data=False, opset_version=OPSET,
                                     input_names=["input"], output_names=names, dynamic_shapes=dynamic).model_proto
    except Exception as exc:  # the exporter raises many types; all mean the same to a user
        raise ExportError(f"ONNX export of '{name}' failed: {type(exc).__name__}: {_first_line(exc)}") from exc


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def save_checked(model, path) -> None:
    """onnx.checker (with shape inference) and one self-contained file."""
    import onnx

    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # checker and shape inference raise several types
        raise ExportError(f"the exported ONNX model fails onnx.checker: {_first_line(exc)}") from exc
    onnx.save_model(model, str(path), save_as_external_data=False)
