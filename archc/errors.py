"""One exception hierarchy. Every error a user can cause is an ArchcError whose
message names the place (file:line:col or a node path) and what would fix it."""
from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    """Where a YAML node came from (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class ArchcError(Exception):
    """A user error: the CLI prints it as one line and exits 2."""

    def __init__(self, message: str, mark: Mark | None = None):
        super().__init__(message)
        self.message = message
        self.mark = mark

    def __str__(self) -> str:
        text = " ".join(self.message.split())  # always one line
        return f"{self.mark}: {text}" if self.mark else text


class SpecError(ArchcError):
    """The spec file is malformed or refers to something that does not exist."""


class GraphError(ArchcError):
    """The spec is well-formed but the network it describes does not fit together."""


class PassError(ArchcError):
    """A pass was asked for something impossible or malformed."""


class ExportError(ArchcError):
    """Export, simplification, verification or profiling failed."""


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that every `finally` (temporaries, worker pools) runs."""


STOPS: list = []  # the signals received (SIGINT, SIGTERM), recorded even where a library swallows the exception


KEPT: list = []  # what a run interrupted now leaves on purpose (train: its last epoch, for --resume)


def left_behind() -> str:
    """The interrupted command's last words on its output."""
    return KEPT[-1] if KEPT else "no partial output left"


def check_stopped() -> None:
    """Raise again for a signal received earlier: nothing is published after one."""
    if STOPS:
        raise Terminated() if STOPS[0] == "SIGTERM" else KeyboardInterrupt()


def did_you_mean(word, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
