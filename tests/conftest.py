from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p for p in (ROOT / "specs").glob("*.yaml"))


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    """Tests name files relative to the repository root, as a user at the root would."""
    monkeypatch.chdir(ROOT)
