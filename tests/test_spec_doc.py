"""docs/spec.md's reference part is generated from the op registry and the block library: it lists
every op and block with its parameters and defaults, and this test fails when it is stale."""
from pathlib import Path

from typer.testing import CliRunner

from archc.cli import app
from archc.lang.blocks import stdlib
from archc.lang.reference import BEGIN, END, markdown, refresh
from archc.ops import OPS

DOC = Path(__file__).resolve().parent.parent / "docs" / "spec.md"


def test_spec_doc_reference_is_up_to_date():
    assert refresh(DOC, check=True) is False  # else: archc spec-reference docs/spec.md


def test_every_op_and_block_is_documented_with_its_defaults():
    text = DOC.read_text()
    for name in list(OPS) + list(stdlib()):
        assert f"### `{name}`" in text, name
    assert "| `eps` | float | `1e-05` |" in text and "`grouping`" in text


def test_a_stale_reference_is_refused_and_then_rewritten(tmp_path):
    doc = tmp_path / "spec.md"
    doc.write_text(f"# spec\n\n{BEGIN}\nold text\n{END}\n\ntail\n")
    check = CliRunner().invoke(app, ["spec-reference", str(doc), "--check"])
    assert check.exit_code == 2 and "archc spec-reference" in check.stderr and "old text" in doc.read_text()
    assert CliRunner().invoke(app, ["spec-reference", str(doc)]).exit_code == 0
    assert doc.read_text() == f"# spec\n\n{BEGIN}\n{markdown()}{END}\n\ntail\n"
