"""`archc summary` and `archc validate` answer without importing torch or onnxruntime,
even when a pass that acts at export (quantize) is given."""
import subprocess
import sys

SCRIPT = """
import sys
from typer.testing import CliRunner
from archc.cli import app
for args in (["summary", "specs/fastscnn.yaml", "--json"], ["validate", "specs/mobilenetv2.yaml"],
             ["summary", "specs/fastscnn.yaml", "--pass", "width=0.5", "--pass", "quantize=int8", "--json"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
print(sorted(m for m in ("torch", "onnxruntime", "onnx", "torchinfo") if m in sys.modules))
"""


def test_summary_and_validate_do_not_import_torch():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
