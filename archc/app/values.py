"""The parts several requests share: what to compile (Source), how to time (Timing), where (Device),
which checkpoint (Weights), and what a caller wants to hear while a command runs (Hooks).

Plain frozen values with no imports beyond the standard library (and Timing, a plain value of the measure
stage that carries it to the runner): the CLI builds them at startup, and a notebook writes them by hand.

    Source("fastscnn", passes=("width=0.5",), input="3x256x256")
    Device(host="pi@raspberrypi.local", identity=Path("~/.ssh/id_ed25519"))
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from archc.measure.timing import Timing  # noqa: F401 - archc.app.Timing is the measure stage's value


@dataclass(frozen=True)
class Source:
    """A spec file or bundled spec name, its passes ("width=0.5" as after --pass) after a recipe file's,
    the input size CxHxW and spec variables."""

    spec: str | Path
    passes: tuple = ()
    input: str | None = None
    variables: Mapping = field(default_factory=dict)
    recipe: Path | None = None

    def pipeline(self) -> list:
        """The recipe's passes, then `passes`."""
        from archc.passes import load_recipe

        return (load_recipe(self.recipe) if self.recipe is not None else []) + list(self.passes)


@dataclass(frozen=True)
class Device:
    """Where a model is timed: here (host None) or [USER@]HOST[:PORT] over SSH; `per_layer` asks ORT's
    profiler for every layer."""

    host: str | None = None
    identity: Path | None = None
    ssh_config: Path | None = None
    remote_python: str | None = None
    per_layer: bool = False

    def target(self):
        """The measure stage's Target; SSH options without a host are a mistake worth one line."""
        from archc.errors import ArchcError
        from archc.measure.remote import Host
        from archc.measure.targets import Target

        if self.host is None:
            given = [f for f, v in (("--identity", self.identity), ("--ssh-config", self.ssh_config),
                                    ("--remote-python", self.remote_python)) if v is not None]
            if given:
                raise ArchcError(f"{', '.join(given)} only apply with --host [USER@]HOST[:PORT]")
            return Target(None, self.per_layer)
        from archc.measure.remote import reach

        parsed = Host.parse(self.host, self.identity, self.ssh_config, self.remote_python)
        reach(parsed)  # the device first: nothing listening is one line in a second, not after minutes of export
        return Target(parsed, self.per_layer)


@dataclass(frozen=True)
class Weights:
    """A torch state_dict file (read with weights_only=True) and an optional YAML pairing of its keys."""

    file: Path | None = None
    map: Path | None = None


def _ignore(*args, **kwargs) -> None:
    return None


def _no_progress(total: int, label: str):
    return contextlib.nullcontext(_ignore)


def _no_training(epochs: int):
    return contextlib.nullcontext(None)


@dataclass(frozen=True)
class Hooks:
    """What a command tells its caller as it goes (the CLI prints these; the API's default hears nothing).

    notes(lines): what the passes reported; weights(report): how a checkpoint was paired, before anything
    is written; warning(text); progress(total, label): a context manager yielding step(text="", advance=1);
    training(epochs): one yielding progress(epoch, step, steps, loss, images_per_s), or None."""

    notes: Callable = _ignore
    weights: Callable = _ignore
    warning: Callable = _ignore
    progress: Callable = _no_progress
    training: Callable = _no_training


QUIET = Hooks()
