"""Sweeps, their cache and Pareto frontiers."""
import csv
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import archc
import archc.sweep.sweep as sweep_mod
from archc.cli import app
from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.sweep.pareto import frontier, label
from archc.sweep.sweep import Sweep, configurations, parse_grid

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
THESIS = {"width": ["1", "0.75", "0.5", "0.25", "0.125"], "expand": ["6", "4", "2"], "repeat": ["3", "2", "1"],
          "drop": ["none", "ppm"], "input": [f"3x{s}x{s}" for s in (512, 256, 224, 192, 160, 128, 96)]}


def test_grid_parsing_and_product():
    grid = parse_grid(["width=1,0.5", "drop=none,ppm", "input=3x256x256"])
    assert grid == {"width": ["1", "0.5"], "drop": ["none", "ppm"], "input": ["3x256x256"]}
    assert len(configurations(grid)) == 4
    for bad in (["width"], ["width="], ["=1"], ["width=1", "width=2"]):
        with pytest.raises(ArchcError):
            parse_grid(bad)


def test_bad_grid_values_fail_before_any_work():
    with pytest.raises(ArchcError, match="unknown pass 'widht'"):
        Sweep("specs/fastscnn.yaml", {"widht": ["1"]}).run()
    with pytest.raises(ArchcError, match="width"):
        Sweep("specs/fastscnn.yaml", {"width": ["abc"]}).run()


def test_the_thesis_grid_reports_invalid_combinations():
    results = Sweep("specs/fastscnn.yaml", THESIS).run()
    assert len(results) == 630
    skipped = [r for r in results if r.status == "skipped"]
    # with the PPM, its 8-bin (and at 96, 4-bin) pooling exceeds the map below 256x256
    assert {r.knobs["input"] for r in skipped} == {"3x224x224", "3x192x192", "3x160x160", "3x128x128", "3x96x96"}
    assert all(r.knobs["drop"] == "none" and "exceeds" in r.reason for r in skipped)
    assert len(skipped) == 5 * 3 * 3 * 5
    base = next(r for r in results if r.config == "width=1 expand=6 repeat=3 input=3x512x512")
    assert (base.params, base.macs) == (1_122_673, 830_667_136)
    small = next(r for r in results if r.config == "width=0.125 expand=2 repeat=1 drop=ppm input=3x96x96")
    assert small.params == 3_911


def _counting(monkeypatch) -> list:
    """The configurations the sweep analyses (not read from its cache), in order."""
    calls, real = [], sweep_mod._analyse
    monkeypatch.setattr(sweep_mod, "_analyse", lambda spec, input_, knobs, *memos: calls.append(knobs)
                        or real(spec, input_, knobs, *memos))
    return calls


def test_cache_makes_a_rerun_and_an_extended_grid_do_only_new_work(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    grid = {"width": ["1", "0.5"], "drop": ["none", "ppm"]}
    first = Sweep("specs/fastscnn.yaml", grid, jobs=1).run(tmp_path)
    assert len(calls) == 4
    again = Sweep("specs/fastscnn.yaml", grid, jobs=1).run(tmp_path)
    assert len(calls) == 4 and [r.row() for r in again] == [r.row() for r in first]
    Sweep("specs/fastscnn.yaml", {"width": ["1", "0.5", "0.25"], "drop": ["none", "ppm"]}, jobs=1).run(tmp_path)
    assert len(calls) == 6 and {c["width"] for c in calls[4:]} == {"0.25"}


def test_changing_an_imported_spec_invalidates_the_cache(tmp_path, monkeypatch):
    """The issue's stale-cache reproduction: 320 -> 160 in the imported MobileNetV2."""
    for name in ("mobilenetv2.yaml", "deeplabv3plus_mobilenetv2.yaml"):
        (tmp_path / name).write_text((ROOT / "specs" / name).read_text())
    top, calls = tmp_path / "deeplabv3plus_mobilenetv2.yaml", _counting(monkeypatch)
    grid, out = {"width": ["1"]}, tmp_path / "sw"
    assert Sweep(str(top), grid, jobs=1).run(out)[0].params == 5_225_717
    backbone = tmp_path / "mobilenetv2.yaml"
    assert backbone.read_text().count(" 320,") == 1
    backbone.write_text(backbone.read_text().replace(" 320,", " 160,"))
    again = Sweep(str(top), grid, jobs=1).run(out)[0]
    assert len(calls) == 2 and again.params == 3_883_957
    assert again.params == compile_spec(top, ["width=1"]).report.params


def test_another_archc_version_invalidates_the_cache(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    Sweep("specs/fastscnn.yaml", {"width": ["0.5"]}, jobs=1).run(tmp_path)
    Sweep("specs/fastscnn.yaml", {"width": ["0.5"]}, jobs=1).run(tmp_path)
    assert len(calls) == 1
    monkeypatch.setattr(sweep_mod, "VERSION", archc.__version__ + ".dev1")
    Sweep("specs/fastscnn.yaml", {"width": ["0.5"]}, jobs=1).run(tmp_path)
    assert len(calls) == 2


def test_cli_sweep_writes_results(tmp_path):
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", "specs/fastscnn.yaml", "--grid", "width=0.5,0.25", "--grid",
                                 "input=3x256x256,3x128x128", "--out", str(out), "--plot", "macs,params"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["status"] for r in rows] == ["ok", "skipped", "ok", "skipped"]
    assert "smallest valid size is 3x256x256" in rows[1]["reason"]
    assert json.loads((out / "results.json").read_text())[0]["params"] == 298_553
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG" and (out / "pareto.svg").exists()
    assert "skipped 2" in result.stdout


@pytest.mark.slow
def test_profiled_sweep_times_every_valid_configuration(tmp_path):
    results = Sweep("specs/fastscnn.yaml", {"width": ["0.25", "0.125"]}, input="3x64x64").run(
        tmp_path, {"runs": 3, "warmup": 1, "threads": 1})
    assert all(r.median_ms > 0 and r.fps > 0 for r in results)


points_strategy = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=40)


@given(pts=points_strategy, x_low=st.booleans(), y_low=st.booleans())
def test_frontier_is_exactly_the_undominated_points(pts, x_low, y_low):
    pts = [(x, y, {}) for x, y in set(pts)]
    sx, sy = (1 if x_low else -1), (1 if y_low else -1)

    def dominates(a, b):
        return sx * a[0] <= sx * b[0] and sy * a[1] <= sy * b[1] and a[:2] != b[:2]

    front = frontier(pts, x_low, y_low)
    assert all(not any(dominates(q, p) for q in pts) for p in front)
    assert all(any(dominates(q, p) for q in front) for p in pts if p not in front)


def test_pareto_joins_a_quality_column(tmp_path):
    rows = [{"config": f"width={w}", "status": "ok", "median_ms": str(t), "width": str(w)}
            for w, t in ((1, 10.0), (0.5, 4.0), (0.25, 2.0))]
    (tmp_path / "r.json").write_text(json.dumps(rows))
    (tmp_path / "iou.csv").write_text("config,iou\nwidth=1,0.95\nwidth=0.5,0.96\nwidth=0.25,0.90\n")
    result = runner.invoke(app, ["pareto", str(tmp_path / "r.json"), "--axes", "median_ms,iou", "--quality",
                                 str(tmp_path / "iou.csv"), "-o", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert "2 configurations on the frontier" in result.stdout  # width=1 is slower and worse than 0.5
    missing = runner.invoke(app, ["pareto", str(tmp_path / "r.json"), "--axes", "median_ms,miou"])
    assert missing.exit_code == 2 and "no column 'miou'" in missing.stderr


def test_a_point_label_names_each_knob_once_per_stage_choices_in_column_order():
    assert label({"width": "0.5", "expand": "6", "drop": "none", "input": "3x96x96"}) == "a=0.5 t=6 in=96"
    row = {"config": "...", "width@ltd": "0.75", "width@gfe": "0.5", "repeat@gfe.0": "3", "repeat@gfe.1": "1",
           "drop": "ppm", "input": "3x128x128"}
    assert label(row) == "a=0.75/0.5 r=3/1 drop=ppm in=128"


def test_pareto_plot_speaks_in_units(tmp_path):
    """Human axis labels with units, mIoU in percent, where the latency and mIoU came from in the title."""
    from archc.sweep import pareto

    rows = [{"config": f"width={w}", "width": w, "status": "ok", "median_ms": ms, "miou": m,
             "device": json.dumps({"host": "pi4", "onnxruntime": "1.20.1", "threads": 4})}
            for w, ms, m in (("1", 30.0, 0.46), ("0.5", 9.0, 0.28), ("0.25", 4.0, 0.16))]
    assert pareto.axis_label("median_ms", True) == "latency, median (ms): lower is better"
    assert pareto.axis_label("miou", False) == "mIoU (%): higher is better"
    assert pareto.context(rows, "median_ms", "miou", epochs=8) == \
        "timed on pi4 with ONNX Runtime 1.20.1, 4 threads; mIoU after 8 epochs of training"
    out = tmp_path / "p.svg"
    pareto.plot(rows, "median_ms", "miou", [(out, "svg")], pareto.Labels(epochs=8))
    svg = out.read_text()
    assert "mIoU (%): higher is better" in svg and "pi4" in svg and "0.45" not in svg and ">45<" in svg
