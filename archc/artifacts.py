"""`archc build --out DIR`: the transformed spec, its summary and the ONNX model,
written atomically (all of them or none)."""
from __future__ import annotations

import json
from pathlib import Path

from .compile import Compiled
from .emit import emit
from .outputs import atomic_dir


def write_build(compiled: Compiled, out: str | Path, force: bool = False, note: str = "") -> dict:
    """Write spec.yaml, summary.json and model.onnx into `out`; return the summary dict."""
    from .export import export_onnx

    summary = compiled.report.to_json()
    with atomic_dir(out, force) as tmp:
        (tmp / "spec.yaml").write_text(emit(compiled.spec, note))
        export_onnx(compiled.graph, tmp / "model.onnx")
        summary["onnx"] = {"file": "model.onnx", "bytes": (tmp / "model.onnx").stat().st_size}
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
