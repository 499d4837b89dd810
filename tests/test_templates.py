"""Block templates (archc/ir/templates.py): a replayed expansion is exactly the expansion it
stands for. Every node's every field (provenance, stride, mark), the reshape recipe, the
outputs and names are compared with a build that expands every block afresh, on every bundled
spec under several pass pipelines, built in a sequence in which templates do get replayed;
and the cases a key must tell apart (a variable a block reads, the same node given twice, a
block that looks outside itself) are refused or differ as in a full build."""
from __future__ import annotations

import glob

import pytest

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.ir import templates
from archc.ir.build import Builder, build
from archc.ir.workspace import Workspace

PIPELINES = [[], ["width=0.5"], ["width=0.75", "expand=4"], ["repeat=2"], ["width=0.25", "repeat=1"], ["drop=ppm"]]


def everything(graph) -> tuple:
    return [dict(n.__dict__) for n in graph], list(graph.recipe or []), graph.outputs, graph.refs


def fast(spec, ws):
    """A build through `ws`'s fast path (its templates), not its remembered graphs."""
    return Builder(spec, ws.strategy).run()


def outcome(spec, ws=None):
    """The build's every field through `ws`'s templates, or (no `ws`) from nothing, or its refusal."""
    try:
        return everything(fast(spec, ws) if ws is not None else build(spec))
    except ArchcError as exc:
        return exc.message, exc.mark


@pytest.fixture
def ws():
    """A workspace whose compiles and builds share their templates."""
    return Workspace()


@pytest.fixture
def counted(monkeypatch):
    """A count of the replays."""
    replays = []
    real = templates.replay
    monkeypatch.setattr(templates, "replay", lambda *a: replays.append(a[3]) or real(*a))
    return replays


@pytest.mark.parametrize("path", sorted(glob.glob("specs/*.yaml")))
def test_a_replayed_graph_is_the_graph_built_afresh(path, ws, counted):
    compared = 0
    for pipeline in PIPELINES:
        try:
            spec = compile_spec(path, pipeline, workspace=ws).spec
        except ArchcError:
            continue
        assert everything(fast(spec, ws)) == everything(build(spec)), pipeline
        compared += 1
    assert compared >= 2 and counted, "no template was replayed: the comparison proves nothing"


BLOCKS = """
blocks:
  pair:
    inputs: [a, b]
    body:
      - {id: cat, op: concat, from: [a, b]}
  scaled:
    params: {c: {type: channels}}
    body:
      - {id: conv, op: conv, c: "$c * mult", k: 1}
  peek:
    body:
      - {id: conv, op: conv, c: 4, k: 1, from: stem}
"""


def spec_file(tmp_path, rows: str, mult: int = 2, name: str = "s"):
    path = tmp_path / f"{name}{mult}.yaml"
    path.write_text(f"name: s\ninput: 3x16x16\nvars: {{mult: {mult}}}\n{BLOCKS}\nstages:\n"
                    f"  - id: stem\n    rows:\n      - {{op: conv, c: 8, k: 3}}\n  - id: body\n    rows:\n{rows}")
    return path


def test_a_variable_a_block_reads_is_part_of_the_key(tmp_path, ws, counted):
    rows = "      - {op: scaled, c: 4}\n"
    a = compile_spec(spec_file(tmp_path, rows, mult=2), [], workspace=ws).graph
    b = compile_spec(spec_file(tmp_path, rows, mult=3), [], workspace=ws).graph
    assert a["body.0.0.conv"].shape[0] == 8 and b["body.0.0.conv"].shape[0] == 12


def test_the_same_node_given_twice_is_refused_after_a_replayable_expansion(tmp_path, ws, counted):
    ok = "      - {op: conv, c: 8, k: 1, id: x}\n      - {op: pair, from: [stem, x]}\n"
    twice = "      - {op: conv, c: 8, k: 1, id: x}\n      - {op: pair, from: [x, x]}\n"
    compile_spec(spec_file(tmp_path, ok), [], workspace=ws)
    spec = compile_spec(spec_file(tmp_path, ok), [], workspace=ws).spec
    bad = spec_file(tmp_path, twice, name="twice")
    with pytest.raises(ArchcError, match="twice"):
        compile_spec(bad, [], workspace=ws)
    assert outcome(spec, ws) == outcome(spec)


def test_a_block_that_looks_outside_itself_is_expanded_each_time(tmp_path, ws, counted):
    rows = "      - {op: peek}\n      - {op: conv, c: 8, k: 3, s: 2}\n      - {op: peek}\n"
    spec = compile_spec(spec_file(tmp_path, rows), [], workspace=ws).spec
    graph = fast(spec, ws)
    assert everything(graph) == everything(build(spec))
    assert graph["body.2.0.conv"].inputs == ("stem.0.0",) and not counted


def test_repeats_replay_within_one_build(ws, counted):
    graph = fast(compile_spec("specs/fastscnn.yaml", [], workspace=ws).spec, ws)
    assert any(name.startswith("gfe.") for name in counted)
    assert len({n.name for n in graph}) == len(graph)


def test_a_replayed_node_takes_the_stride_of_its_inputs(tmp_path, ws, counted):
    """The same block at the same input shape, once after stride-1 nodes and once after a fixed-size
    resize (no stride): the key does not fix strides, so each replayed node works its own out."""
    rows = ("      - {op: scaled, c: 4}\n      - {op: resize, size: [16, 16]}\n"
            "      - {op: conv, c: 8, k: 1}\n      - {op: scaled, c: 4}\n")
    spec = compile_spec(spec_file(tmp_path, rows), [], workspace=ws).spec
    graph = fast(spec, ws)
    assert graph["body.0.0.conv"].stride == 1 and graph["body.3.0.conv"].stride is None and counted
    assert everything(graph) == everything(build(spec))


def test_nodes_made_at_the_same_place_are_reused_only_when_everything_there_is_equal(tmp_path, ws, counted):
    """Same prefix, inputs and shapes: another file (marks) or an input of another stride (after a
    fixed-size resize) gets nodes of its own, equal to a fresh expansion's."""
    plain = "      - {op: conv, c: 8, k: 1}\n      - {op: conv, c: 8, k: 1}\n      - {op: scaled, c: 4}\n"
    sized = "      - {op: resize, size: [16, 16]}\n      - {op: conv, c: 8, k: 1}\n      - {op: scaled, c: 4}\n"
    graphs = {}
    for name, rows in (("a", plain), ("b", plain), ("c", plain), ("c", sized), ("d", plain)):
        spec = compile_spec(spec_file(tmp_path, rows, name=name), [], workspace=ws).spec
        graphs[name] = fast(spec, ws)  # "c" twice: the same file (so the same marks), rewritten
        assert everything(graphs[name]) == everything(build(spec)), name
    assert graphs["b"]["body.2.0.conv"].mark.file.endswith("b2.yaml")
    assert graphs["c"]["body.2.0.conv"].stride is None and graphs["d"]["body.2.0.conv"].stride == 1
    again = fast(compile_spec(spec_file(tmp_path, plain, name="d"), [], workspace=ws).spec, ws)
    assert again["body.2.0.conv"] is graphs["d"]["body.2.0.conv"]  # the placement was reused, not remade
