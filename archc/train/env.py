"""Where and how training runs: the device, deterministic kernels on a fixed thread count, the class count."""
from __future__ import annotations

import contextlib
import os

import torch


@contextlib.contextmanager
def deterministic(threads: int):
    """Reproducible kernels on a fixed thread count, torch's global RNG and settings restored after.
    torch's CPU kernels are deterministic at a fixed thread count; on CUDA the deterministic algorithms are
    switched on too (asking for them imports torch's compiler stack: 15 s, so only where they matter)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    cuda = torch.cuda.is_available()
    if cuda:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what cuBLAS needs to be deterministic
        torch.use_deterministic_algorithms(True, warn_only=True)  # warn, not fail, for ops without one
    try:
        with torch.random.fork_rng(devices=_cuda_devices()):
            yield
    finally:
        torch.set_num_threads(before)
        if cuda:
            torch.use_deterministic_algorithms(False)


def _cuda_devices() -> list:
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


def device(name: str = "auto") -> torch.device:
    """`auto`: CUDA when torch sees a GPU, else the CPU; `cuda` refused when torch sees none."""
    if name == "cuda" and not torch.cuda.is_available():
        from archc.errors import ArchcError

        raise ArchcError("--device cuda: torch sees no CUDA GPU (torch.cuda.is_available() is False); "
                         "use --device cpu, or a CUDA build of torch on a machine with a GPU")
    return torch.device("cuda" if name != "cpu" and torch.cuda.is_available() else "cpu")


def out_classes(compiled) -> int:
    """The class count: the channels of the (first) output."""
    return compiled.graph.shape(compiled.graph.outputs[0])[0]
