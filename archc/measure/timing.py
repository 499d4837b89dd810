"""How a model is timed, one value from the command line (archc.app's Timing is this class) down to the
runner: CPU threads, timed runs, untimed warm-up runs first."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    threads: int = 1  # CPU threads (1 is the most stable)
    runs: int = 30  # timed runs per model
    warmup: int = 5  # untimed runs first
