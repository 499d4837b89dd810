"""archc: a declarative model-graph compiler for efficient vision networks.

    import archc
    net = archc.compile("specs/fastscnn.yaml", passes=["width=0.125"])
    net.summary()["params"]          # 25367
    net.module()                     # the torch.nn.Module
    net.export("out/fastscnn")       # model.onnx, spec.yaml, summary.json

Importing archc (and compiling, summarising, diffing) needs neither torch nor ONNX Runtime.
"""
from archc import compile as _pipeline  # noqa: F401, I001 - load the submodule first, so the API's `compile` below keeps the name
from archc.api import Model, compile, specs
from archc.errors import ArchcError, ExportError, GraphError, PassError, SpecError
from archc.ir.analysis import analyze
from archc.ir.build import build
from archc.lang.spec import load as load_spec

__all__ = ["compile", "Model", "specs", "load_spec", "build", "analyze",
           "ArchcError", "SpecError", "GraphError", "PassError", "ExportError"]
from archc.version import VERSION as __version__  # noqa: E402, F401
