"""The analysis commands (summary, validate, explain, graph, diff) answer without importing
torch or onnxruntime, even for a composed spec or with a pass that acts at export (quantize)."""
import subprocess
import sys

SCRIPT = """
import sys
from typer.testing import CliRunner
from archc.cli import app
for args in (["summary", "specs/fastscnn.yaml", "--json"], ["validate", "specs/mobilenetv2.yaml"],
             ["summary", "specs/fastscnn.yaml", "--pass", "width=0.5", "--pass", "quantize=int8", "--json"],
             ["summary", "specs/deeplabv3plus_mobilenetv3_small.yaml", "--json"],
             ["explain", "specs/mobilenetv2.yaml", "--markdown"], ["graph", "specs/fastscnn.yaml", "-f", "mermaid"],
             ["diff", "specs/fastscnn.yaml", "specs/fastscnn.yaml", "--pass-b", "drop=ppm", "--json"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
print(sorted(m for m in ("torch", "onnxruntime", "onnx", "torchinfo") if m in sys.modules))
"""


def test_summary_and_validate_do_not_import_torch():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
