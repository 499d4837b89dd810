"""archc: a declarative model-graph compiler for efficient vision networks.

    import archc
    net = archc.compile("specs/fastscnn.yaml", passes=["width=0.125"])
    net.summary()["params"]          # 25367
    net.module()                     # the torch.nn.Module
    net.export("out/fastscnn")       # model.onnx, spec.yaml, summary.json

Importing archc (and compiling, summarising, diffing) needs neither torch nor ONNX Runtime; the names
below are loaded when first used, so `archc --version` loads no compiler.
"""
import importlib
import sys
import types

from archc.errors import ArchcError, ExportError, GraphError, PassError, SpecError  # noqa: F401
from archc.version import VERSION as __version__  # noqa: F401

_LAZY = {"compile": ("archc.api", "compile"), "Model": ("archc.api", "Model"), "specs": ("archc.api", "specs"),
         "load_spec": ("archc.lang.spec", "load"), "build": ("archc.ir.build", "build"),
         "analyze": ("archc.ir.analysis", "analyze")}
__all__ = ["compile", "Model", "specs", "load_spec", "build", "analyze",
           "ArchcError", "SpecError", "GraphError", "PassError", "ExportError"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'archc' has no attribute '{name}'")
    module, attr = _LAZY[name]
    return getattr(importlib.import_module(module), attr)


class _Package(types.ModuleType):
    """`archc.compile` is the API's function, also after the pipeline module archc/compile.py is imported
    (importing a submodule sets the package's attribute of the same name; that one is not kept)."""

    def __setattr__(self, name, value):
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
