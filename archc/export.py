"""Export: torch module -> ONNX file (imports torch and onnx; nothing upstream does)."""
from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

from .errors import ExportError
from .ir import Graph


@contextlib.contextmanager
def _quiet():
    """The dynamo exporter logs and warns a lot; a user only needs our one line."""
    levels = {name: logging.getLogger(name).level for name in ("torch", "onnxscript", "torch.onnx")}
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


def export_onnx(graph: Graph, path: str | os.PathLike, module=None) -> Path:
    """Lower `graph` (unless `module` is given) and export it to one ONNX file at `path`."""
    import torch

    from .lower import lower

    module = module if module is not None else lower(graph)
    x = torch.zeros(1, *graph.input_shape)
    path = Path(path)
    try:
        with _quiet(), torch.inference_mode(False):
            torch.onnx.export(module, (x,), str(path), dynamo=True, external_data=False, verbose=False,
                              input_names=["input"], output_names=[f"output{i}" if i else "output"
                                                                   for i in range(len(graph.outputs))])
    except Exception as exc:  # the exporter raises many types; all mean the same to a user
        raise ExportError(f"ONNX export of '{graph.name}' failed: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
    return path
