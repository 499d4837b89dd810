"""--weights on the command line: archc's own DIR/weights.pt reloads exactly, and every bad
checkpoint (wrong architecture, truncated, a pickle that runs code, wrong dtype, extra or missing
keys) is one `archc: error:` line, exit 2, and nothing written."""
from __future__ import annotations

import json
import os

import pytest
import torch
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec
from archc.torch.checkpoint import save_weights
from archc.torch.weights import lower_seeded, lowered_report

SPEC, SMALL = "specs/mobilenetv3_small.yaml", "3x32x32"
runner = CliRunner()


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """MobileNetV3-Small's weights (seed 3, not archc's default 0), saved as archc saves them."""
    path = tmp_path_factory.mktemp("ckpt") / "w.pt"
    save_weights(lower_seeded(compile_spec(SPEC, input=SMALL).graph, 3), path)
    return path


def _fails(args, marker: str, out=None):
    result = runner.invoke(app, args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("archc: error:") and marker in lines[0], lines
    assert out is None or not out.exists()


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/archc_pwned",))


def _bad_files(good, tmp_path) -> dict:
    state = torch.load(good, weights_only=True)
    first = next(iter(state))
    files = {"truncated": good.read_bytes()[: good.stat().st_size // 2],
             "code": {"state_dict": state, "payload": Exploit()},
             "dtype": {**state, first: state[first].to(torch.int64)},
             "extra": {**state, "extra.conv.weight": torch.zeros(8, 8, 1, 1)},
             "missing": dict(list(state.items())[:-2]),
             "architecture": lower_seeded(compile_spec("specs/mobilenetv2.yaml", input=SMALL).graph).state_dict()}
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.pt"
        if isinstance(content, bytes):
            paths[name].write_bytes(content)
        else:
            torch.save(content, paths[name])
    return paths


MARKERS = {"truncated": "truncated", "code": "could run code", "dtype": "int64", "extra": "extra.conv.weight",
           "missing": "no counterpart", "architecture": "does not match"}


def test_bad_checkpoints_are_one_line_and_write_nothing(good, tmp_path):
    for name, path in _bad_files(good, tmp_path).items():
        out = tmp_path / f"out_{name}"
        _fails(["build", SPEC, "--input", SMALL, "--weights", str(path), "--out", str(out)], MARKERS[name], out)
        _fails(["summary", SPEC, "--input", SMALL, "--weights", str(path), "--json"], MARKERS[name])
    assert not os.path.exists("/tmp/archc_pwned")


def test_summary_json_reports_the_mapping(good):
    result = runner.invoke(app, ["summary", SPEC, "--input", SMALL, "--weights", str(good), "--json"])
    assert result.exit_code == 0, result.output
    w = json.loads(result.stdout)["weights"]
    assert w["paired"] == len(w["pairs"]) == w["how"]["name"] > 100
    assert w["left_in_archc"] == w["left_in_checkpoint"] == []


def test_weights_map_pairs_ignores_and_keeps(good, tmp_path):
    state = torch.load(good, weights_only=True)
    renamed = {"net." + k: v for k, v in state.items() if not k.startswith("classifier.5")}
    renamed["aux.weight"] = torch.zeros(3)
    torch.save({"model_state_dict": renamed, "epoch": 3}, tmp_path / "ckpt.pt")
    (tmp_path / "map.yaml").write_text("map: {features: net.features}\nignore: [aux]\nkeep: [classifier.5]\n")
    result = runner.invoke(app, ["summary", SPEC, "--input", SMALL, "--weights", str(tmp_path / "ckpt.pt"),
                                 "--weights-map", str(tmp_path / "map.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    w = json.loads(result.stdout)["weights"]
    assert w["how"]["map"] > 0 and w["how"].get("order", 0) > 0  # classifier.2 by order
    assert w["left_in_checkpoint"] == ["aux.weight"] and w["left_in_archc"] == ["classifier.5.0.weight",
                                                                                 "classifier.5.0.bias"]


@pytest.mark.slow
def test_build_writes_weights_that_reload_exactly(good, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", SPEC, "--input", SMALL, "--weights", str(good), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written, ref = torch.load(out / "weights.pt", weights_only=True), torch.load(good, weights_only=True)
    assert list(written) == list(ref) and all(torch.equal(written[k], ref[k]) for k in ref)  # forward order
    module, report = lowered_report(compile_spec(out / "spec.yaml").graph, out / "weights.pt")
    assert report.how == {"map": 0, "name": len(report.paired)}
    assert all(torch.equal(v, written[k]) for k, v in module.state_dict().items())
