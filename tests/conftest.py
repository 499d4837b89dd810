"""Shared, expensive fixtures: one small build (export + simplify + verify + int8 +
profile) reused by the export, quantize and profile tests, to keep the suite fast."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # the hand-written Fast-SCNN the thesis cross-check uses
SPECS = sorted(p for p in (ROOT / "specs").glob("*.yaml"))  # every shipped spec


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    """Tests name files relative to the repository root, as a user at the root would."""
    monkeypatch.chdir(ROOT)


SPEC_DIR = ROOT / "specs"
os.environ.setdefault("ONNXSIM_CERTIFY", "0")  # never start a Z3 proof inside tests
if os.environ.get("PYTEST_XDIST_WORKER"):  # one torch thread per worker: -n 2 on 2 cores must not run 4
    os.environ.setdefault("OMP_NUM_THREADS", "1")

SMALL = {"passes": ["width=0.25"], "input": "3x128x128"}  # every op of Fast-SCNN, PPM included, in seconds


@pytest.fixture(scope="session")
def small_build(tmp_path_factory):
    """Fast-SCNN at width 0.25, 128x128, with quantize=int8 and --profile (few runs)."""
    from archc.compile import compile_spec
    from archc.deploy.artifacts import BuildOptions, write_build

    compiled = compile_spec(SPEC_DIR / "fastscnn.yaml", [*SMALL["passes"], "quantize=int8"], SMALL["input"])
    out = tmp_path_factory.mktemp("build") / "out"
    summary = write_build(compiled, out, options=BuildOptions(profile=True, runs=3, warmup=1))
    return compiled, out, summary


