"""archc: a declarative model-graph compiler for efficient vision networks.

    spec = archc.load_spec("specs/fastscnn.yaml")
    graph = archc.build(spec)
    report = archc.analyze(graph)
"""
from archc.ir.analysis import analyze
from archc.ir.build import build
from archc.errors import ArchcError, ExportError, GraphError, PassError, SpecError
from archc.lang.spec import load as load_spec

__all__ = ["load_spec", "build", "analyze", "ArchcError", "SpecError", "GraphError", "PassError", "ExportError"]
__version__ = "0.1.0"
