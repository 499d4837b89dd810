"""Golden-text pass tests, xDSL style: each tests/golden/*.txt starts with the exact
`archc build` command line, then holds the exact spec.yaml that command writes.

    ARCHC_GOLDEN_UPDATE=1 pytest tests/test_golden.py    # rewrite them on purpose, then review the diff
"""
from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec
from archc.errors import GraphError
from archc.ir.graph import Graph, Node
from archc.lang.emit import emit

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.txt"))


def _command(line: str) -> tuple[str, list]:
    """(spec, passes) of `archc build SPEC --pass P... --out DIR`."""
    words = shlex.split(line)
    assert words[:2] == ["archc", "build"], line
    passes = [words[i + 1] for i, w in enumerate(words) if w == "--pass"]
    return words[2], passes


def emitted(line: str) -> str:
    """What `archc build` writes to DIR/spec.yaml for this command (its note included)."""
    spec, passes = _command(line)
    note = f"written by archc build {spec}" + "".join(f" --pass {p}" for p in passes)
    return emit(compile_spec(spec, passes).spec, note)


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_pass_output_equals_the_golden_text(path):
    line, _, expected = path.read_text().partition("\n")
    actual = emitted(line)
    if os.environ.get("ARCHC_GOLDEN_UPDATE"):
        path.write_text(f"{line}\n{actual}")
        expected = actual
    assert actual == expected


def test_the_goldens_cover_drop_through_from_to_and_outputs():
    texts = {p.stem: p.read_text() for p in GOLDEN}
    assert "outputs: [head, stem]" in texts["drop_stage"]  # the output that named the dropped stage
    assert "from: stem}" in texts["drop_stage"]  # its reader now reads its input, not `input`
    assert "to: stem.0}" in texts["drop_row_to"] and "from: [head.1, stem.0]" in texts["drop_row_to"]
    assert "{op: resize, to: low, from: mid}" in texts["drop_row_from"]  # the next row reads what it read


@pytest.mark.slow
def test_the_real_command_writes_the_golden_text(tmp_path):
    line, _, expected = (Path(__file__).parent / "golden" / "drop_stage.txt").read_text().partition("\n")
    words = shlex.split(line.replace("DIR", str(tmp_path / "out")))
    result = CliRunner().invoke(app, words[1:])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "spec.yaml").read_text() == expected


def _graph(*nodes, outputs=()) -> Graph:
    g = Graph("broken", (3, 8, 8))
    for n in nodes:
        g.nodes[n.name] = n  # past Graph.add's own checks: what a buggy builder could leave
        g.g.add_node(n.name, node=n)
        for i, src in enumerate(n.inputs):
            g.g.add_edge(src, n.name, index=i)
    g.outputs = list(outputs)
    return g


@pytest.mark.parametrize("nodes, outputs, message", [
    ((Node("a", "act", {}, ("b",), (3, 8, 8)), Node("b", "act", {}, ("a",), (3, 8, 8))), ["b"],
     "graph 'broken' has a cycle"),
    ((Node("b", "act", {}, ("a",), (3, 8, 8)), Node("a", "input", {}, (), (3, 8, 8))), ["b"],
     "node 'b' runs before its input 'a'"),
    ((Node("a", "input", {}, (), (3, 8, 8)), Node("b", "conv", {}, ("a",), (3, 8, 8), share="gone")), ["b"],
     "node 'b' shares weights with missing 'gone'"),
    ((Node("a", "input", {}, (), (3, 8, 8)),), ["nowhere"], "output 'nowhere' is not a node"),
])
def test_graph_check_names_what_is_broken(nodes, outputs, message):
    with pytest.raises(GraphError) as err:
        _graph(*nodes, outputs=outputs).check()
    assert err.value.message == message
