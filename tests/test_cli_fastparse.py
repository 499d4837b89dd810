"""archc.cli.fastparse: every option of every archc command, coerced without pydantic, gives what typer's
own (pydantic) coercion gives: the same value of the same type, or the same error message; and usage
errors stay archc's one line."""
from __future__ import annotations

import pytest
import typer.main
from typer import _click
from typer._coercion import build_runtime_param

from archc.cli import app
from archc.cli.fastparse import PlainParam, runtime_param

SAMPLES = ["0", "7", "007", "-3", "+4", " 5", "3.0", "1.5", ".5", "1e3", "nan", "1_000", "x", "", "a/b.yaml",
           ".", "-", "99999999999999999999", "٣", True, False, 3, 2.5]


def _options():
    def walk(cmd, path):
        for param in cmd.params:
            yield f"{path} {param.name}", cmd, param
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    return list(walk(typer.main.get_command(app), "archc"))


def _outcome(runtime, value, param, ctx):
    try:
        out = runtime._coerce_value(value, param=param, ctx=ctx)
        return "ok", type(out), repr([(type(v), v) for v in out] if isinstance(out, list) else out)
    except _click.exceptions.BadParameter as exc:
        return "error", exc.format_message()


def test_plain_options_coerce_as_typer_does():
    plain = 0
    for name, cmd, param in _options():
        ctx = _click.Context(cmd, info_name=cmd.name)
        fast, full = runtime_param(param.type_descriptor), build_runtime_param(param.type_descriptor)
        plain += isinstance(fast, PlainParam)
        many = param.multiple or param.nargs == -1
        for sample in SAMPLES:
            value = (sample, sample) if many else sample
            assert _outcome(fast, value, param, ctx) == _outcome(full, value, param, ctx), (name, value)
    assert plain > 150  # nearly every archc option is plain


@pytest.mark.parametrize("args,line", [
    (["summary", "--bogus"], "archc: error: No such option: --bogus; see 'archc summary --help'"),
    (["profile", "fastscnn", "--threads", "x"], "archc: error: Invalid value for '--threads': Input should be "
                                                 "a valid integer, unable to parse string as an integer; "
                                                 "see 'archc profile --help'"),
])
def test_usage_errors_are_one_line_exit_2(args, line):
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, args, prog_name="archc")
    assert result.exit_code == 2 and result.stderr.strip() == line
