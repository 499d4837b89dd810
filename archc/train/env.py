"""Where and how training runs: the device, deterministic kernels on a fixed thread count, the class count."""
from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def deterministic(threads: int):
    """Deterministic kernels on a fixed thread count; torch's global settings restored after."""
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)  # warn, not fail, for ops without one (CUDA)
    try:
        with torch.random.fork_rng(devices=_cuda_devices()):
            yield
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1])


def _cuda_devices() -> list:
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


def device() -> torch.device:
    """CUDA when torch sees a GPU, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def out_classes(compiled) -> int:
    """The class count: the channels of the (first) output."""
    return compiled.graph.shape(compiled.graph.outputs[0])[0]
