"""The pass-related command line: --pass / --passes / --input on summary and
build, `archc passes`, `archc diff`, and one clear line + exit 2 for bad passes."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec

FAST, MNV2 = "specs/fastscnn.yaml", "specs/mobilenetv2.yaml"


def run(*args):
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_summary_json_golden():
    code, out, _ = run("summary", FAST, "--input", "3x512x512", "--pass", "width=0.125", "--json")
    d = json.loads(out)
    assert code == 0 and (d["params"], d["macs"], d["activation_bytes"]) == (25_367, 23_689_328, 26_266_272)


def test_mobilenetv2_half_width_summary():
    code, out, _ = run("summary", MNV2, "--pass", "width=0.5", "--json")
    assert code == 0 and json.loads(out)["params"] == 1_968_680


@pytest.mark.parametrize("spec, passes, message", [
    (FAST, ["width=abc"], "pass 'width': a='abc' is not a number"),
    (FAST, ["width=0"], "pass 'width': multiplier 0 must be > 0"),
    (FAST, ["repeat=0"], "pass 'repeat': r=0 must be >= 1"),
    (FAST, ["frobnicate=1"], "unknown pass 'frobnicate' (passes: drop, early_downsample, expand, groups, input"),
    (FAST, ["drop=nothing"], "pass 1 'drop=nothing': nothing named 'nothing' to drop"),
    (FAST, ["input=3x100x100"], "pass 1 'input=3x100x100': input 3x100x100: 100 is not divisible by the "
                                "network's total stride 32; the smallest valid size is 3x"),
    (FAST, ["groups=3,where=ltd"], "pass 1 'groups=3,where=ltd': g=3 divides the channels of no 1x1 conv in ltd"),
    (FAST, ["groups=7"], "pass 1 'groups=7': g=7 divides the channels of no 1x1 conv"),
    (FAST, ["drop=gfe.2"], "pass 1 'drop=gfe.2': cannot drop gfe.2 (bottleneck): its input gfe.1.2.residual is "
                           "96x16x16 but its output gfe.2.2.residual is 128x16x16"),
    (MNV2, ["early_downsample=5"], "after 4 of 5 step(s)"),
])
def test_bad_passes_give_one_line_and_exit_2(spec, passes, message):
    code, out, err = run("summary", spec, *[a for p in passes for a in ("--pass", p)], "--json")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archc: error: ") and message in lines[0], err


def test_cli_input_is_the_input_pass_applied_last():
    """--input after drop=ppm: 96x96 is valid only once the PPM is gone."""
    code, out, _ = run("summary", FAST, "--pass", "drop=ppm", "--input", "3x96x96", "--json")
    assert code == 0 and json.loads(out)["input"] == [3, 96, 96]


def test_passes_recipe_option_and_notes_on_stderr():
    code, out, err = run("summary", FAST, "--passes", "passes/thesis_a0125_t2_r1_pp0_96.yaml", "--json")
    assert code == 0 and json.loads(out)["params"] == 3_911
    code, out, err = run("summary", FAST, "--passes", "passes/essnet_dg4s.yaml", "--pass", "width=0.5", "--json")
    assert code == 0 and json.loads(out)["params"] == 101_465  # recipe first, then --pass
    assert "note: groups=4,shuffle=true: grouped" in err


def test_bad_recipe_names_the_entry(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- width: 0.5\n- frobnicate: 1\n")
    code, _, err = run("summary", FAST, "--passes", str(bad))
    assert code == 2 and f"{bad}:2:3: unknown pass 'frobnicate'" in err


def test_passes_command_lists_every_pass():
    code, out, _ = run("passes")
    assert code == 0
    for name in ("width", "expand", "repeat", "drop", "input", "groups", "early_downsample"):
        assert name in out


def test_diff_json_contract():
    code, out, _ = run("diff", FAST, FAST, "--pass-b", "width=0.125", "--pass-b", "drop=ppm", "--json")
    d = json.loads(out)
    assert code == 0 and set(d) == {"a", "b", "delta", "ratio", "stages"}
    assert (d["a"]["params"], d["a"]["passes"]) == (1_122_673, [])
    assert (d["b"]["params"], d["b"]["passes"]) == (24_759, ["width=0.125", "drop=ppm"])
    figures = ("params", "macs", "activation_bytes", "macs_attention", "macs_total")  # no attention here: 0
    assert d["delta"] == {k: d["b"][k] - d["a"][k] for k in figures} and d["a"]["macs_total"] == d["a"]["macs"]
    assert [s["stage"] for s in d["stages"]] == ["ltd", "gfe", "ffm", "classifier"]
    for key in ("params", "macs", "activation_bytes"):
        assert sum(s["a"][key] for s in d["stages"]) == d["a"][key]
        assert sum(s["delta"][key] for s in d["stages"]) == d["delta"][key]


def test_diff_of_two_specs_table():
    code, out, _ = run("diff", FAST, MNV2)
    assert code == 0 and "features" in out and "ltd" in out and "total" in out
    code, out, _ = run("diff", FAST, MNV2, "--json")
    stages = {s["stage"]: s for s in json.loads(out)["stages"]}
    assert stages["ltd"]["b"] is None and stages["features"]["a"] is None


@pytest.mark.slow  # exports ONNX
def test_build_writes_the_transformed_spec(tmp_path):
    out = tmp_path / "out"
    code, _, err = run("build", FAST, "--pass", "groups=4,shuffle=true", "--pass", "drop=ppm", "--input",
                       "3x128x128", "--out", str(out))
    assert code == 0, err
    text = (out / "spec.yaml").read_text()
    assert "grouping: [{g: 4, shuffle: true}]" in text and "ppm" not in text.split("stages:")[1]
    again = compile_spec(out / "spec.yaml")
    summary = json.loads((out / "summary.json").read_text())
    assert (again.report.params, again.report.macs) == (summary["params"], summary["macs"])
