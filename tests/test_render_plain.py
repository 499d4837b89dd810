"""archc.cli.render_plain prints `archc summary` without rich where the output is no terminal: the text must
be the text rich prints there, character for character, for every bundled spec (with and without the
layer table, and with a pass); where it cannot be, rich prints."""
from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import pytest

import archc.app as calls
from archc.cli import render, render_plain

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))


class _Pipe(io.StringIO):
    encoding = "utf-8"


def _printed(fn, *args) -> str:
    out = _Pipe()
    with contextlib.redirect_stdout(out):
        fn(*args)
    return out.getvalue()


def _result(name: str, passes=()):
    return calls.summary(calls.Summary(calls.Source(name, tuple(passes), None, {}, None)))


@pytest.mark.parametrize("name", SPECS)
def test_plain_text_is_riches_text(name):
    result = _result(name)
    for layers in (True, False):
        plain = _printed(lambda: render_plain.summary(result, layers) or sys.exit("rich was needed"))
        assert plain == _printed(render.summary, result, layers), (name, layers)


def test_with_a_pass_and_the_totals_alone():
    result = _result("mobilenetv2", ["width=0.5"])
    assert _printed(render_plain.summary, result) == _printed(render.summary, result)
    assert _printed(render.summary, result).endswith(_printed(render.totals, result.report))


def test_what_only_rich_prints_is_left_to_rich(monkeypatch):
    assert render_plain.table("t", [("a", "left")], [["[red]x"]]) is None  # markup
    assert render_plain.table("t", [("a", "left")], [[":smile:"]]) is None  # an emoji code
    assert render_plain.table("t", [("a", "left")], [["é"]]) is None  # not ASCII
    assert render_plain.table(None, [("a", "left")], [["x" * 200]]) is None  # wider than the page
    assert render_plain.table(None, [("a", "right")], [["[b]7"], ["10"]]) == "\n".join(
        ["┏━━━━┓", "┃  a ┃", "┡━━━━┩", "│  7 │", "│ 10 │", "└────┘"])
    monkeypatch.setenv("FORCE_COLOR", "1")
    with contextlib.redirect_stdout(_Pipe()):
        assert not render_plain.plain_stdout()
