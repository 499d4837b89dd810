"""Two start-up costs typer 0.29 puts on every command, avoided without changing what a command receives or
prints (tests/test_cli_fastparse.py compares both with typer's own path):

- Option values: typer coerces each option through a pydantic TypeAdapter it builds on first use (importing
  pydantic, ~0.06 s CPU). The plain values archc's options take (str, Path, bool, int, float, lists of them, no
  parser, no bounds) are coerced here as the adapter would; anything else, and any value this does not
  recognise, goes to typer's adapter, so its error messages stay typer's.
- Usage errors: they are printed as archc's one line (app._usage_error) by the group's `main`, so typer's
  rich help module (rich.markdown, ~0.03 s) is loaded only when help is printed.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer.core
from typer import _click
from typer._coercion import RuntimeParam, build_runtime_param
from typer._param_types import coerce_cli_path

_NUMBER = {int: re.compile(r"[0-9]{1,18}"), float: re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?")}
_NO = object()
_DONE = object()


def _plain(annotation, info) -> bool:
    """Whether an option's type is one coerced here: no parser, no bounds, no path checks."""
    if info.parser is not None or getattr(info, "min", None) is not None or getattr(info, "max", None) is not None:
        return False
    if annotation is Path:
        return info.path_type is None and not (info.exists or info.resolve_path or info.writable)
    return annotation in (str, bool, int, float)


def _leaf(annotation, info, value, param, ctx):
    """The coerced value, or _NO where typer's adapter must decide."""
    if annotation is str:
        return value if isinstance(value, str) else _NO
    if annotation is Path:
        if not isinstance(value, str) or not value:
            return _NO
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    if type(value) is annotation:
        return value
    if annotation is bool:
        return _NO
    return annotation(value) if isinstance(value, str) and _NUMBER[annotation].fullmatch(value) else _NO


@dataclass(frozen=True)
class PlainParam(RuntimeParam):
    """Coercion of a plain option (see _plain) without pydantic; typer's own on anything else.
    `annotation` is the type of one value; `many` says whether the option takes a list of them."""

    descriptor: Any = None
    many: bool = False

    def _coerce_value(self, value, param, ctx):
        if not self.many:
            out = _leaf(self.annotation, self.parameter_info, value, param, ctx)
        elif isinstance(value, (list, tuple)):
            out = [_leaf(self.annotation, self.parameter_info, v, param, ctx) for v in value]
            out = _NO if _NO in out else out
        else:
            out = _NO
        if out is _NO:
            return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)
        return out


def runtime_param(descriptor):
    """typer's RuntimeParam for an option, or a PlainParam where the option's type is plain."""
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if descriptor.file_annotation is None:
        items = typer.core.get_args(annotation)[0] if typer.core.get_origin(annotation) is list else None
        if _plain(items or annotation, info):
            return PlainParam(info, items or annotation, descriptor, items is not None)
    return build_runtime_param(descriptor)


def _get_runtime_param(self):
    if self._runtime_param is None:
        self._runtime_param = runtime_param(self.type_descriptor)
    return self._runtime_param


class Group(typer.core.TyperGroup):
    """archc's command group: usage errors are one line (`on_usage_error`), printed without loading
    typer's rich help module; help itself is typer's."""

    on_usage_error = staticmethod(lambda exc: exc.show())

    def invoke(self, ctx):
        super().invoke(ctx)
        return _DONE  # what a command returns is no exit code (typer's standalone mode ignores it too)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:  # typer's standalone mode, with archc's usage errors; Exit(code) comes back as the code
            code = super().main(args, prog_name, complete_var, False, **extra)
        except _click.exceptions.ClickException as exc:
            self.on_usage_error(exc)
            sys.exit(exc.exit_code)
        except _click.exceptions.Abort:
            print("Aborted.", file=sys.stderr)
            sys.exit(1)
        sys.exit(0 if code is _DONE else code)


def install() -> None:
    """Coerce plain options without pydantic (typer's parameters look this up on first use)."""
    typer.core._TyperParameter.get_runtime_param = _get_runtime_param
