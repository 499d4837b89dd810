"""Specs are data: the YAML loader and the expression evaluator refuse anything else."""
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc.ir.build import scale_channels
from archc.errors import SpecError
from archc.lang.expr import evaluate, make_divisible
from archc.lang.spec import Width, load
from archc.lang import yamlio

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8))


def test_alias_bomb_is_refused_quickly():
    start = time.perf_counter()
    with pytest.raises(SpecError, match="alias bomb"):
        yamlio.load("bomb.yaml", BOMB)
    assert time.perf_counter() - start < 2


def test_deep_nesting_is_refused():
    with pytest.raises(SpecError, match="nesting deeper"):
        yamlio.load("deep.yaml", "a: " + "[" * 100 + "]" * 100)


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


@given(c=st.integers(1, 4096), a=st.floats(0.05, 4.0))
def test_floor_rounding_is_int_of_c_times_a(c, a):
    assert scale_channels(c, Width(a, "floor", 1)) == int(c * a + 1e-9)


@given(c=st.integers(1, 4096), a=st.floats(0.05, 4.0), d=st.sampled_from([1, 2, 4, 8, 16]))
def test_nearest_rounding_is_make_divisible(c, a, d):
    out = scale_channels(c, Width(a, "nearest", d))
    assert out == make_divisible(c * a, d) and out % d == 0 and out >= 0.9 * c * a


@given(c=st.integers(1, 4096), a=st.floats(0.05, 4.0))
def test_up_rows_never_shrink(c, a):
    assert scale_channels(c, Width(a, "nearest", 8), "up") >= make_divisible(c, 8)
