"""benchmarks/mutants.py mutates code by replacing a text that must occur exactly once in its file; after
a refactor a mutant whose text is gone is 'invalid' and checks nothing. This keeps every mutant aimed at
code that exists, so the mutation check (benchmarks/mutants.md) stays a check."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import mutants  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("mid, rel, old, new", [m[:4] for m in mutants.MUTANTS], ids=[m[0] for m in mutants.MUTANTS])
def test_every_mutant_replaces_a_text_that_occurs_once(mid, rel, old, new):
    text = (ROOT / rel).read_text()
    assert text.count(old) == 1, f"{mid}: its text occurs {text.count(old)} times in {rel}; aim it at the code again"
    assert old != new


def test_mutant_ids_are_unique():
    ids = [m[0] for m in mutants.MUTANTS]
    assert len(ids) == len(set(ids))
