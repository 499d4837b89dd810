"""LiteRT (TensorFlow Lite): a lowered archc module -> a verified `.tflite` file (litert-torch),
its fp16 / dynamic-range / int8 variants (ai-edge-quantizer) and the LiteRT interpreter (XNNPACK)
that verifies, times and scores them. The optional extra `archc[litert]`; nothing else in archc
imports these packages.

    archc build specs/fastscnn.yaml --format tflite --pass quantize=int8 --calib images/
"""
from __future__ import annotations

import importlib.util

from archc.errors import ExportError

INSTALL = "pip install 'archc[litert]'"
PACKAGES = {"litert_torch": "litert-torch", "ai_edge_litert": "ai-edge-litert"}


def require(*modules: str, what: str = "LiteRT") -> None:
    """One line naming the missing package and the install command, before any work."""
    for module in modules or tuple(PACKAGES):
        if importlib.util.find_spec(module) is None:
            raise ExportError(f"{what} needs {PACKAGES.get(module, module)}, which is not installed; {INSTALL}")


def available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in PACKAGES)
