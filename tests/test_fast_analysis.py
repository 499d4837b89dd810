"""The fast analysis path (a workspace's fast path: graphs and pass results remembered, a known
structure reshaped to a new input size, block templates, remembered parameter checks) gives exactly
what a workspace without it gives (every graph built from nothing): the same graph, params, MACs,
activation bytes, per-layer report and pass notes, or the same refusal (message and mark), for
random pass pipelines on several shipped specs, and for fixed pipelines on every bundled spec."""
from __future__ import annotations

import glob

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.ir.analysis import analyze
from archc.ir.build import build
from archc.ir.workspace import Workspace

SPECS = ["specs/fastscnn.yaml", "specs/mobilenetv2.yaml", "specs/erfnet.yaml", "specs/bisenetv2.yaml",
         "specs/segformer_b0.yaml"]  # token ops: untokens binds its size from a map, as resize does
SIZES = [32, 64, 96, 128, 160, 192, 200, 256]
SHARED = {path: Workspace() for path in SPECS}  # one per spec, kept across examples, as a search keeps one


def passes():
    one = st.one_of(
        st.sampled_from(["0.25", "0.5", "0.75", "1"]).map(lambda a: f"width={a}"),
        st.sampled_from([1, 2, 4, 6]).map(lambda t: f"expand={t}"),
        st.integers(1, 3).map(lambda r: f"repeat={r}"),
        st.sampled_from(["ppm", "gfe", "ffm", "decoder", "aggregation"]).map(lambda n: f"drop={n}"),
    )
    return st.lists(one, max_size=3)


def sizes():
    return st.tuples(st.sampled_from([1, 3]), st.sampled_from(SIZES), st.sampled_from(SIZES)).map(
        lambda chw: "x".join(map(str, chw)))


def outcome(path, pipeline, size, classes, ws):
    try:
        c = compile_spec(path, pipeline, size, {"classes": classes}, workspace=ws)
        return ("ok", c.graph.signature(), c.graph.refs, c.report, c.notes, repr(c.spec))
    except ArchcError as exc:
        return ("refused", exc.message, exc.mark)


def from_nothing(path, pipeline, size, classes):
    """The same compile in a fresh workspace without the fast path: a full build each time."""
    return outcome(path, pipeline, size, classes, Workspace(fast=False))


@pytest.mark.parametrize("path", SPECS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pipeline=passes(), first=sizes(), second=sizes(), classes=st.sampled_from([2, 19]))
def test_fast_path_equals_a_full_build(path, pipeline, first, second, classes):
    ws = SHARED[path]
    outcome(path, pipeline, first, classes, ws)  # the structure is known now: `second` is reshaped from it
    fast = outcome(path, pipeline, second, classes, ws)
    assert fast == from_nothing(path, pipeline, second, classes)
    if fast[0] == "ok":  # and the figures are those of the graph the full builder makes from the final spec
        c = compile_spec(path, pipeline, second, {"classes": classes}, workspace=ws)
        assert analyze(build(c.spec)) == c.report


PIPELINES = [[], ["width=0.5", "expand=4"], ["repeat=1", "drop=ppm"], ["width=0.25", "repeat=2"],
             ["groups=2", "early_downsample=1"]]


def answers(path, pipeline, size, ws) -> tuple:
    """Everything a compile gives: every node's every field, outputs, names, report, notes, spec."""
    try:
        c = compile_spec(path, pipeline, size, workspace=ws)
        g = c.graph
        return "ok", [dict(n.__dict__) for n in g], g.outputs, g.refs, g.total_stride(), c.report, c.notes, \
            repr(c.spec)
    except ArchcError as exc:
        return "refused", exc.message, exc.mark


@pytest.mark.parametrize("path", sorted(glob.glob("specs/*.yaml")))
def test_a_workspace_without_the_fast_path_gives_the_same_answers(path):
    """Every bundled spec under several pass pipelines at its own size and two others, compiled in one
    default workspace (templates replayed, structures reshaped) and each in a fresh one without it."""
    ws, seen = Workspace(), 0
    for pipeline in PIPELINES:
        for size in (None, "3x256x256", "3x128x192"):
            got = answers(path, pipeline, size, ws)
            assert got == answers(path, pipeline, size, Workspace(fast=False)), (pipeline, size)
            seen += got[0] == "ok"
    assert seen >= 1, "every compile was refused: the comparison proves little"


def test_a_reshaped_graph_is_one_the_builder_did_not_make():
    """The tests above compare the reshape, not a remembered full build: count the builds."""
    ws = Workspace()
    a = compile_spec("specs/fastscnn.yaml", ["width=0.5"], "3x256x512", workspace=ws)
    b = compile_spec("specs/fastscnn.yaml", ["width=0.5"], "3x96x160", workspace=ws)
    assert ws.strategy.made == 1 and a.graph.input_shape == (3, 256, 512) and b.graph.input_shape == (3, 96, 160)
    assert b.report == analyze(build(b.spec)) and b.report.macs < a.report.macs


def test_a_plain_compile_remembers_nothing_between_calls():
    """Without a workspace, each compile makes its own: nothing is kept in the process."""
    a = compile_spec("specs/fastscnn.yaml", ["width=0.5"], "3x96x160")
    b = compile_spec("specs/fastscnn.yaml", ["width=0.5"], "3x96x160")
    assert a.graph is not b.graph and a.spec is not b.spec and a.graph.signature() == b.graph.signature()
    ws = Workspace()
    assert compile_spec("specs/fastscnn.yaml", ["width=0.5"], "3x96x160", workspace=ws).graph is \
        compile_spec("specs/fastscnn.yaml", ["width=0.5"], "3x96x160", workspace=ws).graph


def test_a_size_reading_block_is_built_in_full(tmp_path):
    """A block whose expressions read in_h / in_w may change its nodes with the input: never reshaped."""
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\ninput: 3x64x64\nblocks:\n  halfpool:\n    body:\n"
                    "      - {id: p, op: maxpool, k: '$in_h // 2', s: '$in_h // 2'}\n"
                    "stages:\n  - id: a\n    rows:\n      - {op: conv, c: 8, k: 3}\n      - {op: halfpool}\n")
    ws = Workspace()
    a = compile_spec(spec, [], "3x64x64", workspace=ws)
    b = compile_spec(spec, [], "3x32x32", workspace=ws)
    assert ws.strategy.made == 2 and a.graph.signature()[-2][4] == (8, 2, 2) == b.graph.signature()[-2][4]


@given(shape=st.lists(st.integers(1, 4096), min_size=1, max_size=4).map(tuple))
@settings(max_examples=40, deadline=None)
def test_the_ops_reshape_takes_the_input_shape_of_give_exactly_that(shape):
    """ir/reshape.py skips the shape rule of KEEPS_SHAPE ops: each must give its input's shape, for any shape."""
    from archc.ir.reshape import KEEPS_SHAPE
    from archc.ops import OPS

    for name in KEEPS_SHAPE:
        attrs = {k: p.default for k, p in OPS[name].params.items()}
        assert tuple(OPS[name].infer(attrs, [shape])) == shape, name


@pytest.mark.parametrize("path", SPECS)
def test_a_reshaped_graph_answers_as_the_built_one(path):
    """Every question a reshaped graph answers before and after its Node objects are made (shapes,
    structure, total stride, lookups, the nodes themselves) has the full build's answer."""
    from archc.ir.reshape import Reshaped

    ws = Workspace()
    compile_spec(path, [], "3x256x256", {"classes": 19}, workspace=ws)
    c = compile_spec(path, [], "3x192x320", {"classes": 19}, workspace=ws)
    g, full = c.graph, build(c.spec)
    assert isinstance(g, Reshaped) and g._nodes is None
    assert g.shapes() == full.shapes() and len(g) == len(full) and g.total_stride() == full.total_stride()
    assert [(n.name, n.op, n.attrs, n.inputs, n.share) for n in g.structure()] == \
        [(n.name, n.op, n.attrs, n.inputs, n.share) for n in full.structure()]
    assert all(name in g and g[name] == full[name] for name in full.nodes) and g._nodes is None
    assert g.nodes == full.nodes and g.outputs == full.outputs and g.refs == full.refs
    assert [(n.name, n.attrs) for n in g.structure()] == [(n.name, n.attrs) for n in full.structure()]


@given(c=st.integers(1, 64), hw=st.tuples(st.integers(1, 512), st.integers(1, 512)),
       other=st.tuples(st.integers(1, 512), st.integers(1, 512)), k=st.sampled_from([1, 3, [1, 3]]),
       bias=st.booleans())
@settings(max_examples=60, deadline=None)
def test_a_parameter_count_reads_only_attributes_and_channel_counts(c, hw, other, k, bias):
    """A reshaped graph takes its layers' parameter counts from its source (Reshaped.weights_like):
    every op's count must not change with the inputs' H and W."""
    from archc.ops import OPS
    from archc.ops.core import REQUIRED, _no_weights

    given_ = {"c": 8, "k": k, "bias": bias, "groups": 1}
    for name, op in OPS.items():
        if op.count is _no_weights:
            continue
        attrs = {p: given_.get(p, q.default if q.default is not REQUIRED else 4) for p, q in op.params.items()}
        assert op.count(attrs, [(c, *hw)]) == op.count(attrs, [(c, *other)]), name


def test_a_layer_whose_input_grows_with_the_image_is_counted_again(tmp_path):
    """flatten -> linear: the linear's parameters follow the input size, so a reshaped graph of it
    cannot take its source's counts."""
    spec = tmp_path / "flat.yaml"
    spec.write_text("name: flat\ninput: 3x16x16\nstages:\n  - id: a\n    rows:\n"
                    "      - {op: conv, c: 4, k: 3, s: 2}\n      - {op: flatten}\n      - {op: linear, c: 10}\n")
    small = compile_spec(spec, [], "3x16x16").report
    large = compile_spec(spec, [], "3x32x32")
    assert large.report == analyze(build(large.spec)) and large.report.params > small.params
