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


LIBRARY_ERRORS = (  # (exception module prefix, class name or "", words in its message, what it means for the user)
    ("builtins", "RuntimeError", "inline_container.cc",
     "torch could not write a file (is the disk full?); free some space or choose another --out"),
    ("sqlalchemy", "", "database or disk is full",
     "the study's database could not grow: the disk is full; free some space and run the same command again"),
    ("sqlalchemy", "", "file is not a database",
     "the study's database is damaged (not an SQLite file); move it away or choose a new --out or --storage"),
    ("sqlalchemy", "", "database disk image is malformed",
     "the study's database is damaged; move it away or choose a new --out or --storage"),
    ("sqlalchemy", "", "unable to open database file",
     "the study's database cannot be opened; check that --storage's folder exists and is writable"),
    ("sqlalchemy", "ArgumentError", "",
     "--storage is not a database URL; give one like sqlite:///runs/s1/study.db"),
    ("sqlalchemy", "NoSuchModuleError", "",
     "--storage names a database kind SQLAlchemy does not know; give one like sqlite:///runs/s1/study.db"),
    ("PIL", "DecompressionBombError", "",
     "an image is too large to read safely (its header claims too many pixels); replace or remove it"),
    ("onnxruntime", "", "", "ONNX Runtime could not load or run the model; rebuild it with archc build"),
    ("ray", "", "", "Ray failed; check the cluster (`ray status`) or run with --executor local"),
)


def library_error(exc: BaseException) -> ArchcError | None:
    """One line for a library's exception that a user's input or machine caused (a full disk, a damaged
    database, a bad URL): the one mapping the CLI boundary applies before calling anything else a bug."""
    if isinstance(exc, UnicodeDecodeError):
        return ArchcError(f"a file is not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8")
    module, name = type(exc).__module__ or "", type(exc).__name__
    text = str(exc)
    first = next((line.strip() for line in text.splitlines() if line.strip()), name)[:200]
    for prefix, cls, words, meaning in LIBRARY_ERRORS:
        if module.split(".")[0] == prefix and cls in ("", name) and words in text:
            return ArchcError(f"{meaning} ({name}: {first})")
    return None
