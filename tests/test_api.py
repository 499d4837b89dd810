"""docs/api.md runs as printed: every ```python block, in order, in one namespace, in an empty
folder (what it writes stays there); the figures it asserts are the README's."""
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_the_api_doc_covers_the_model_methods():
    text = "".join(blocks())
    for method in (".summary()", ".module()", ".export(", ".profile(", ".diff(", ".to_yaml()", "archc.specs()"):
        assert method in text, method


def test_the_api_doc_names_every_command_call():
    """Each CLI command's call (archc.api.COMMANDS) is shown in the doc; the walk's calls run below."""
    from archc import api

    text = DOC.read_text()
    missing = sorted(call.__name__ for call in api.COMMANDS.values()
                     if f"api.{call.__name__}" not in text and call.__name__ not in ("spec_reference", "specs"))
    assert not missing, missing
    ran = "".join(blocks())
    for call in ("synth", "train", "evaluate", "sweep", "search", "pareto", "summary"):
        assert f"api.{call}(" in ran, call


@pytest.mark.slow
def test_every_api_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, code in enumerate(blocks()):
        exec(compile(code, f"docs/api.md block {i + 1}", "exec"), namespace)  # noqa: S102 - our own doc
    assert (tmp_path / "out" / "small" / "model.onnx").exists() and (tmp_path / "frontier.png").exists()


def test_import_archc_gives_the_api_even_after_the_pipeline_module_is_imported():
    import archc
    import archc.compile as pipeline  # noqa: F401 - the submodule of the same name must not take the name

    from archc.compile import compile_spec  # noqa: F401

    assert archc.compile is archc.api.compile and archc.compile("mobilenetv2").params == 3504872
