"""benchmarks/gpu_train.py runs end to end on its CPU path (the path a machine without CUDA takes, and the CPU
rows of a GPU run) at a tiny size, so the prepared GPU check has not rotted by the time a GPU is lent."""
from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="with a GPU the script runs its CUDA rows too: run it by hand")
def test_the_gpu_training_benchmark_runs_on_the_cpu_at_a_tiny_size(tmp_path, monkeypatch, capsys):
    out = tmp_path / "gpu_train.json"
    monkeypatch.setattr(sys, "argv", ["gpu_train.py", "--size", "64x128", "--batch", "2", "--images", "6",
                                      "--warmup", "1", "--cpu-steps", "1", "--out", str(out)])
    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(ROOT / "benchmarks" / "gpu_train.py"), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    result = json.loads(out.read_text())
    assert result["cuda"] is None or not torch.cuda.is_available()
    [row] = result["rows"]
    assert row["amp"] is False and row["batch"] == 2 and row["steps"] == 1
    assert row["model_steps_per_s"] > 0 and row["loop_steps_per_s"] > 0
    assert "| device | AMP | batch |" in capsys.readouterr().out
