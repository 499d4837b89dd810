"""The Typer app, the options shared by several commands, and the one error boundary: known errors become
one `archc: error:` line and exit code 2 here; anything else is a bug (exit 1, traceback with --debug)."""
from __future__ import annotations

import importlib
import signal
import sys
import threading
import traceback
from functools import wraps
from pathlib import Path
from typing import Annotated, List, Optional

import typer
import typer.core

import archc.app as calls
from archc.cli import fastparse
from archc.errors import KEPT, STOPS, ArchcError, Terminated, check_stopped, left_behind, library_error
from archc.fs import os_error


def _usage_error(exc) -> None:
    """Click's usage errors (a missing argument, an unknown option) as the one line every error is, not a box."""
    where = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "archc"
    text = " ".join(exc.format_message().split())
    print(f"archc: error: {text.rstrip('.')}; see '{where} --help'", file=sys.stderr)


class _Group(fastparse.Group):
    on_usage_error = staticmethod(_usage_error)


fastparse.install()
app = typer.Typer(cls=_Group, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="archc: compile YAML op-table specs of vision networks to graphs, PyTorch and ONNX.")
STATE = {"debug": False}
_display_type = typer.core.TyperOption.display_type_rich


def _flag_type(option, ctx):
    """Typer 0.29 labels flags `<bool>` in help, as if they took a value; a flag takes none."""
    return None if option.is_flag else _display_type(option, ctx)


typer.core.TyperOption.display_type_rich = _flag_type

SpecArg = Annotated[Path, typer.Argument(help="a spec file, or a bundled spec's name (see `archc specs`)",
                                         show_default=False)]
PassOpt = Annotated[Optional[List[str]], typer.Option("--pass", "-p", help="NAME=VALUE[,KEY=VALUE...], repeatable")]
InputOpt = Annotated[Optional[str], typer.Option("--input", help="input size CxHxW, e.g. 3x512x512")]
VarOpt = Annotated[Optional[List[str]], typer.Option("--var", help="NAME=VALUE: set a spec variable")]
JsonOpt = Annotated[bool, typer.Option("--json", help="one JSON object on stdout")]
RecipeOpt = Annotated[Optional[Path], typer.Option("--passes",
                                                   help="a recipe file (passes/*.yaml), applied before --pass")]
ThreadsOpt = Annotated[int, typer.Option("--threads", help="CPU threads for timing (1 is the most stable)")]
CalibOpt = Annotated[Optional[Path], typer.Option("--calib", help="folder of calibration images for quantize=int8")]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from archc.version import VERSION

        try:
            print(f"archc {version('archc')}")
        except PackageNotFoundError:  # run from a clone without `pip install -e .`
            print(f"archc {VERSION}")
        raise typer.Exit()


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False,
         version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="print archc's version and exit")] = False):
    STATE["debug"] = debug


def _stop(signum, frame):
    """SIGINT and SIGTERM: recorded (see errors.check_stopped), then raised; a second one is ignored
    so that it cannot cut the clean-up short."""
    STOPS.append(signal.Signals(signum).name)
    signal.signal(signum, signal.SIG_IGN)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def boundary(fn):
    """Turn ArchcError into one line + exit 2; SIGINT and SIGTERM into one line + 130 / 143 after
    clean-up; an OSError naming a file into a user error; anything else is our bug: exit 1."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        STOPS.clear()
        KEPT.clear()
        main = threading.current_thread() is threading.main_thread()
        before = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
        try:
            result = fn(*args, **kwargs)
            check_stopped()  # a library that swallowed the KeyboardInterrupt does not make it a success
            return result
        except OSError as exc:
            if exc.filename is None:
                return _bug(exc)
            return _user_error(os_error(exc.filename, exc, "use"))
        except ArchcError as exc:
            return _user_error(exc)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            print(f"archc: error: interrupted (SIGINT); {left_behind()}", file=sys.stderr)
            raise typer.Exit(130) from None
        except Terminated:
            print(f"archc: error: terminated (SIGTERM); {left_behind()}", file=sys.stderr)
            raise typer.Exit(143) from None
        except Exception as exc:  # noqa: BLE001 - the bug boundary
            known = library_error(exc)  # a full disk, a damaged database, a bad URL: the user's to fix
            return _user_error(known) if known is not None else _bug(exc)
        finally:
            for sig, handler in before.items():  # an in-process caller (tests, notebooks) gets its own back
                if handler is not None:
                    signal.signal(sig, handler)

    return wrapper


def _user_error(exc: ArchcError):
    if STATE["debug"]:
        traceback.print_exc()
    print(f"archc: error: {exc}", file=sys.stderr)
    raise typer.Exit(2) from None


def _bug(exc: Exception):
    if STATE["debug"]:
        traceback.print_exc()
    print(f"archc: internal error: {type(exc).__name__}: {exc} (a bug in archc; rerun with --debug "
          f"for the traceback)", file=sys.stderr)
    raise typer.Exit(1) from None


def parse_vars(items) -> dict:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ArchcError(f"--var {item}: expected NAME=VALUE, e.g. --var classes=19")
        out[name.strip()] = _literal(value.strip())
    return out


def _literal(text: str):
    import yaml

    try:
        return yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        return text


def source(spec, passes=None, input=None, var=None, recipe=None) -> calls.Source:
    """The Source the shared options describe."""
    return calls.Source(spec, tuple(passes or ()), input, parse_vars(var), recipe)


def hooks(quiet_weights: bool = False) -> calls.Hooks:
    """Notes, warnings and the weights' pairing on stderr; progress bars (or plain lines in logs). The
    printing modules (rich) are loaded when first used: `summary --json` never needs them."""
    weights = calls.QUIET.weights if quiet_weights else _later("render_weights", "mapping")
    return calls.Hooks(notes=_later("render", "notes"), weights=weights, warning=_later("render", "warning"),
                       progress=_later("render", "progress"), training=_later("render_train", "training"))


def _later(module: str, name: str):
    def call(*args, **kwargs):
        return getattr(importlib.import_module(f"archc.cli.{module}"), name)(*args, **kwargs)

    return call
