"""A mutation fuzzer over the shipped specs: whatever a mutated file says, archc
either compiles it or refuses it with an ArchcError (one line, exit 2) -- never
another exception, never a hang. Bounded: FUZZ_EXAMPLES mutations per run."""
import os
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec
from archc.errors import ArchcError

from conftest import SPECS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
TEXTS = {p.name: p.read_text() for p in SPECS}
TOKEN = re.compile(r"-?\d+(?:\.\d+)?|[A-Za-z_$][\w.$]*|[\[\]{}:,\-]")
VALUES = st.one_of(
    st.sampled_from(["0", "-1", "1e30", "99999999999999999999", "3.5", "null", "true", "[]", "{}", "''", "$", "$x",
                     "$in_c // 0", "*a", "&a", "!!python/object:os.system", "---", "\t", "é", "\x00", "[1, [2, [3]]]"]),
    st.text(max_size=6),
    st.integers(-5, 10**6).map(str),
)


@st.composite
def mutants(draw):
    name = draw(st.sampled_from(sorted(TEXTS)))
    text = TEXTS[name]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["token", "token", "token", "drop_line", "dup_line", "truncate", "insert"]))
        lines = text.splitlines(keepends=True)
        if kind == "token":
            spans = [m.span() for m in TOKEN.finditer(text)] or [(0, 0)]
            a, b = draw(st.sampled_from(spans))
            text = text[:a] + draw(VALUES) + text[b:]
        elif kind in ("drop_line", "dup_line") and lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines[i:i + 1] = [] if kind == "drop_line" else [lines[i], lines[i]]
            text = "".join(lines)
        elif kind == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        else:
            i = draw(st.integers(0, len(text)))
            text = text[:i] + draw(VALUES) + text[i:]
    return name, text


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=mutants())
def test_mutated_specs_compile_or_fail_cleanly(case):
    name, text = case
    start = time.process_time()  # CPU time: a loaded machine does not make a spec slow
    try:
        compile_spec(name, text=text).report
    except ArchcError as exc:
        assert "\n" not in str(exc)
    assert time.process_time() - start < 5, "a mutated spec took more than 5 s"


@pytest.mark.parametrize("text", ["\x00\x01\x02", "name: [", "{{{{", "a: *nothing", "- - - -", "name: x\ninput: 3x8x8\n"])
def test_cli_on_garbage_files_exits_2(tmp_path, text):
    f = tmp_path / "garbage.yaml"
    f.write_bytes(text.encode("utf-8"))
    result = CliRunner().invoke(app, ["summary", str(f)])
    assert result.exit_code == 2 and result.stderr.startswith("archc: error: ") and "Traceback" not in result.output
