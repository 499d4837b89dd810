"""The command line: a thin shell over the Python API. Each module here registers the commands of one
stage on the shared Typer app (in the order `archc --help` lists them); app.py holds the options they
share and the error boundary."""
from archc.cli import spec_cmds  # noqa: F401, I001  (registers the commands; order = help order)
from archc.cli import build_cmds  # noqa: F401
from archc.cli import sweep_cmds  # noqa: F401
from archc.cli import train_cmds  # noqa: F401
from archc.cli import latency_cmds  # noqa: F401
from archc.cli import search_cmds  # noqa: F401
from archc.cli import library_cmds  # noqa: F401
from archc.cli import report_cmds  # noqa: F401
from archc.cli.app import app


def run():
    app()
