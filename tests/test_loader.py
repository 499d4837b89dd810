"""Specs are data: the YAML loader and the expression evaluator refuse anything else."""
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from archc.cli import app

from archc.ir.build import scale_channels
from archc.errors import SpecError
from archc.lang.expr import evaluate, make_divisible
from archc.lang.spec import Width, load
from archc.lang import yamlio

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8))


def test_alias_bomb_is_refused_after_a_bounded_count(monkeypatch):
    """The loader stops at MAX_NODES converted nodes (10^9 if it did not); pytest-timeout catches a hang."""
    calls, real = [0], yamlio._convert

    def counted(*args):
        calls[0] += 1
        assert calls[0] <= yamlio.MAX_NODES + 1, "the node counter did not stop the expansion"
        return real(*args)

    monkeypatch.setattr(yamlio, "_convert", counted)
    with pytest.raises(SpecError, match="alias bomb"):
        yamlio.load("bomb.yaml", BOMB)
    assert calls[0] == yamlio.MAX_NODES + 1


def test_deep_nesting_is_refused():
    with pytest.raises(SpecError, match="nesting deeper"):
        yamlio.load("deep.yaml", "a: " + "[" * 100 + "]" * 100)


@pytest.mark.parametrize("depth", [5_000, 100_000])
@pytest.mark.parametrize("form", ["list", "map"])
def test_any_depth_is_refused_in_one_line_before_the_composer_recurses(tmp_path, depth, form):
    text = "a: " + "[" * depth + "]" * depth if form == "list" else "{a: " * depth + "1" + "}" * depth
    (tmp_path / "deep.yaml").write_text(text)
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "deep.yaml")])
    assert result.exit_code == 2, result.output
    col = 44 if form == "list" else 4 * 41 - 2  # where level 41 begins
    assert result.stderr == f"archc: error: {tmp_path / 'deep.yaml'}:1:{col}: nesting deeper than 40 levels; " \
                            f"flatten the spec\n"


@pytest.mark.parametrize("text", ["a: !!python/object:os.system {}", "a: !!python/name:os.system ''",
                                  "a: !custom 3"])
def test_tags_that_build_objects_are_refused(text):
    with pytest.raises(SpecError):
        yamlio.load("tag.yaml", text)


def test_duplicate_keys_are_refused():
    with pytest.raises(SpecError, match="duplicate key 'name'"):
        yamlio.load("dup.yaml", "name: a\nname: b\n")


def test_marks_point_at_values():
    doc = yamlio.load("m.yaml", "a:\n  b: [1, 2, {c: 3}]\n")
    assert (doc.mark(("a", "b", 2, "c")).line, doc.mark(("a", "b", 2, "c")).col) == (2, 17)


def test_non_utf8_and_binary(tmp_path):
    (tmp_path / "latin.yaml").write_bytes(b"name: caf\xe9\n")
    (tmp_path / "bin.yaml").write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(SpecError, match="not UTF-8"):
        load(tmp_path / "latin.yaml")
    with pytest.raises(SpecError, match="binary"):
        load(tmp_path / "bin.yaml")


@pytest.mark.parametrize("expr", ["__import__('os')", "().__class__", "open('x')", "lambda: 1", "[x for x in y]",
                                  "9 ** 9 ** 9", "10 ** 100", "'a' * 10**9"])
def test_expressions_outside_the_whitelist_are_refused(expr):
    with pytest.raises(SpecError):
        evaluate(expr, {"y": [1]})


def test_expressions_compute():
    assert evaluate("make_divisible(in_c * t / 4, 8)", {"in_c": 16, "t": 6}) == 24
    assert evaluate("in_c // 4 if shared else 0", {"in_c": 128, "shared": True}) == 32


@pytest.mark.parametrize("c, a, out", [(64, 0.75, 48), (96, 0.5, 48), (128, 0.125, 16), (48, 0.125, 6),
                                       (32, 0.75, 24), (10, 0.25, 2), (7, 0.5, 3)])
def test_floor_rounding_truncates_like_the_thesis(c, a, out):
    """The thesis scales by int(c * a); the figures are worked by hand."""
    assert scale_channels(c, Width(a, "floor", 1)) == out


# MobileNet's _make_divisible (TF-slim / the MobileNetV2 reference code): max(d, int(v + d/2) // d * d),
# plus d when that lost more than 10%; values worked by hand from that formula.
@pytest.mark.parametrize("c, a, d, out", [(32, 0.35, 8, 16), (16, 0.35, 8, 8), (24, 1.4, 8, 32), (96, 0.75, 8, 72),
                                          (320, 0.35, 8, 112), (24, 0.5, 8, 16), (40, 0.75, 8, 32),
                                          (960, 0.75, 8, 720), (3, 1.0, 4, 4)])
def test_nearest_rounding_matches_mobilenets_make_divisible(c, a, d, out):
    assert scale_channels(c, Width(a, "nearest", d)) == out


@given(c=st.integers(1, 4096), a=st.floats(0.05, 4.0))
def test_up_rows_never_shrink(c, a):
    assert scale_channels(c, Width(a, "nearest", 8), "up") >= make_divisible(c, 8)


def test_the_packaged_block_library_loads_the_same_through_libyaml():
    """stdlib.yaml is composed by libyaml (fast); a user's file by the bounded Python composer. Same
    data, same marks."""
    from archc.lang import yamlio

    path = Path(__file__).resolve().parent.parent / "archc" / "lang" / "stdlib.yaml"
    text = path.read_text()
    python, packaged = yamlio.load("stdlib.yaml", text), yamlio.load("stdlib.yaml", text, packaged=True)
    assert python.data == packaged.data and python.marks == packaged.marks and len(python.marks) > 1000


def test_an_expression_python_only_warns_about_is_refused_in_one_line(recwarn):
    """'1if 2 else 3' parses in Python with a SyntaxWarning on stderr; a spec refuses it instead."""
    with pytest.raises(SpecError, match=r"cannot parse expression '1if 2 else 3'"):
        evaluate("1if 2 else 3", {})
    assert not [w for w in recwarn if issubclass(w.category, SyntaxWarning)]
