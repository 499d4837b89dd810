"""The application layer's calls, without the CLI: request values in, result values out, checks before work."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from archc import app
from archc.errors import ArchcError

TINY = app.Source("fastscnn", passes=("width=0.125", "drop=ppm"), input="3x64x64")


def test_requests_are_frozen_values_with_the_cli_defaults():
    b = app.Build(TINY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.out = Path("elsewhere")  # type: ignore[misc]
    assert (b.out, b.timing, b.device.host, b.weights.file) == (Path("out"), app.Timing(1, 30, 5), None, None)
    assert app.Profile("x").timing == app.Timing(1, 50, 10) and app.LatencyFit(TINY, Path("m.json")).timing.runs == 20
    assert b == app.Build(TINY) and b != dataclasses.replace(b, force=True)


def test_summary_and_diff_are_values():
    s = app.summary(app.Summary(TINY))
    assert (s.to_json()["params"], s.weights, s.latency) == (24759, None, None)
    assert 0 < len(s.shown_layers) < len(s.report.layers)  # quiet ops without parameters are left out
    d = app.diff(app.Diff(TINY, app.Source("fastscnn", ("width=0.25", "drop=ppm"), "3x64x64")))
    assert d["a"]["passes"] == ["width=0.125", "drop=ppm"] and d["delta"]["params"] > 0


def test_notes_go_to_the_hooks_not_to_stdout(capsys):
    heard = []
    app.summary(app.Summary(app.Source("fastscnn", passes=("groups=4",))), app.Hooks(notes=heard.extend))
    assert heard and capsys.readouterr().out == ""


def test_cheap_checks_come_before_any_work(tmp_path):
    with pytest.raises(ArchcError, match="only apply with --host"):
        app.build(app.Build(TINY, out=tmp_path / "o", device=app.Device(identity=Path("key"))))
    with pytest.raises(ArchcError, match="give the checkpoint with --weights"):
        app.summary(app.Summary(TINY, weights=app.Weights(map=Path("map.yaml"))))
    with pytest.raises(ArchcError, match="--train EPOCHS and --data DIR go together"):
        app.sweep(app.Sweep(TINY, grid=("width=0.5",), out=tmp_path / "s", train=1))
    with pytest.raises(ArchcError, match="--size 64: expected HxW"):
        app.synth(app.Synth(tmp_path / "d", size="64"))
    assert not (tmp_path / "o").exists() and not (tmp_path / "d").exists()


def built_graph(source):
    from archc.app.common import compiled

    return compiled(source).graph


def test_build_with_weights_and_a_width_pass_lowers_twice_and_pairs_once(tmp_path, monkeypatch):
    """The checkpoint fits the spec before its passes: lowered once for it, carried, and the narrow model
    lowered once; that module is the one exported (before: three lowerings and three loads)."""
    import torch

    import archc.torch.weights as weights
    from archc.compile import compile_spec

    original = compile_spec("specs/fastscnn.yaml").graph  # a checkpoint fits the spec before its passes
    torch.save(weights.lowered(original).state_dict(), tmp_path / "w.pt")
    lowerings, loads = [], []
    real_lower, real_load = weights.lower_seeded, weights.load_into
    monkeypatch.setattr(weights, "lower_seeded", lambda g, *a: lowerings.append(g.name) or real_lower(g, *a))
    monkeypatch.setattr(weights, "load_into", lambda m, w, *a: loads.append(w) or real_load(m, w, *a))
    heard = []
    built = app.build(app.Build(TINY, out=tmp_path / "out", weights=app.Weights(tmp_path / "w.pt")),
                      app.Hooks(weights=heard.append))
    assert len(lowerings) == 2 and len(loads) == 2, (lowerings, len(loads))
    assert heard and heard[0].carried["kept_norm"] > 0
    saved = torch.load(tmp_path / "out" / "weights.pt", weights_only=True)
    assert built.summary["params"] == 24759 and saved.keys() == real_lower(built_graph(TINY)).state_dict().keys()
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["verify"]["max_abs_diff"] <= 1e-4
