"""A device's latency model from end-to-end timings (`archc latency fit --measurements`): the CSV's bad
rows, the fit recovering a synthetic device's known costs, the shipped Raspberry Pi 4 model, and the
one direction table and one constraint judge that the search and the fronts share."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.measure import device_fit, measurements
from archc.measure import latency_model as lm

ROOT = Path(__file__).resolve().parent.parent
PI = ROOT / "archc" / "devices" / "fastscnn_rpi4_thesis.csv"
runner = CliRunner()


def _csv(tmp_path, text, name="m.csv") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name


@pytest.mark.parametrize("text, where, needle", [
    ("# times\nwidth,input\n0.5,3x64x64\n", "m.csv:2", "no 'latency_ms' column"),
    ("width,latency_ms\n0.5,3.1\n0.25\n", "m.csv:3", "1 cells for 2 columns"),
    ("width,latency_ms\n0.5,-3\n", "m.csv:2", "'-3' is not a positive number"),
    ("width,latency_ms\n0.5,fast\n", "m.csv:2", "'fast' is not a positive number"),
    ("passes,latency_ms\nwidth=0.5,3\nwdth=0.5 drop=ppm,4\n", "m.csv:3", "unknown pass 'wdth'"),
    ("width,ppm,latency_ms\n0.5,2,3\n", "m.csv:2", "ppm '2' should be 1 (kept) or 0"),
    ("width,passes,latency_ms\n0.5,width=1,3\n", "m.csv:1", "both a 'passes' column and pass columns"),
    ("table,latency_ms\n4.6,3\n", "m.csv:1", "no configuration columns"),
])
def test_a_bad_row_is_one_line_naming_the_file_and_line(tmp_path, text, where, needle):
    with pytest.raises(ArchcError) as err:
        measurements.read(_csv(tmp_path, text))
    assert where in str(err.value) and needle in str(err.value) and "\n" not in str(err.value)


def test_a_repeated_configuration_is_averaged_and_counted_once(tmp_path):
    rows = measurements.read(_csv(tmp_path, "table,width,ppm,input,latency_ms\n1,0.5,0,3x64x64,10\n"
                                            "2,0.5,1,3x64x64,12\n3,0.5,0,3x64x64,12\n"))
    assert [(m.passes, m.latency_ms, m.lines) for m in rows] == [
        (("width=0.5", "drop=ppm", "input=3x64x64"), 11.0, (2, 4)), (("width=0.5", "input=3x64x64"), 12.0, (3,))]


def test_a_configuration_the_spec_refuses_names_its_line(tmp_path):
    text = "width,ppm,input,latency_ms\n" + "".join(f"{w},0,3x128x128,{i + 1}\n" for i, w in enumerate((1, 0.5, 0.25)))
    with pytest.raises(ArchcError, match=r"m.csv:5: width=1 input=3x128x128: .*pooling bin 8x8 exceeds"):
        device_fit.fit_measurements("fastscnn", _csv(tmp_path, text + "1,1,3x128x128,1\n"))


def _configs():
    return [[f"width={w}", f"expand={t}", f"input=3x{s}x{s}"] + (["drop=ppm"] if d else [])
            for w in (1, 0.5, 0.25) for t in (6, 2) for s in (320, 256) for d in (0, 1)]


def test_the_fit_recovers_a_synthetic_devices_known_costs(tmp_path):
    """A device whose latency is exactly the model's form with known costs and roofline ridge: the fit
    from its 24 end-to-end timings (through the CSV and the CLI) gives them back, and its held-out error is ~0."""
    truth, ridge = dict(zip(device_fit.PARAMS, (2.0, 0.01, 0.8, 0.3, 1.5))), device_fit.RIDGES[12]

    def device(g):
        return float(device_fit.design(lm.kind_totals(g, device_fit.roofline(ridge))) @ list(truth.values()))

    rows = [(" ".join(p), device(compile_spec("specs/fastscnn.yaml", p).graph)) for p in _configs()]
    path = _csv(tmp_path, "passes,latency_ms\n" + "".join(f"{p},{ms!r}\n" for p, ms in rows))
    result = runner.invoke(app, ["latency", "fit", "fastscnn", "--measurements", str(path), "--out",
                                 str(tmp_path / "dev.json")])
    assert result.exit_code == 0, result.output
    assert "leave-one-out: Spearman 1.000, MAPE 0.0%" in " ".join(result.output.split())
    model = lm.load(tmp_path / "dev.json")
    for name, value in truth.items():
        assert model.meta["group_costs"][name] == pytest.approx(value, rel=1e-4), name
    assert model.meta["group_costs"]["bytes_per_mac"] == ridge and model.roofline["bytes_per_mac"] == ridge
    assert model.meta["fit"]["loo"]["max_error"] < 1e-4
    g = compile_spec("specs/fastscnn.yaml", ["width=0.75", "drop=ppm", "input=3x192x192"]).graph  # a configuration not fitted
    assert model.predict(g) == pytest.approx(device(g), rel=1e-4)


def test_under_the_roofline_a_dense_conv_costs_its_bytes_or_its_macs_whichever_is_more():
    """A 1x1 conv of few channels moves more bytes than its MACs count at the ridge: priced by bytes;
    a 3x3 conv of many channels does 9x the MACs per byte: priced by its MACs (it was priced by bytes
    before, which made networks of 3x3 convs look 2-3x faster than they ran)."""
    roof = device_fit.roofline(0.5)
    thin, thick = np.array([1.0, 1e6, 4e6]), np.array([1.0, 9e7, 4e6])  # [layers, MACs, bytes]
    assert list(lm.roofed("conv_1x1", thin, roof)) == [1.0, 1e6, 4e6]
    assert list(lm.roofed("conv_kxk", thick, roof)) == [1.0, 9e7, 4.5e7]
    assert list(lm.roofed("conv_depthwise", thick, roof)) == [1.0, 9e7, 4e6]  # depthwise: its own MAC cost


def test_too_few_rows_warn_in_one_line_and_three_are_refused(tmp_path):
    text = "width,ppm,input,latency_ms\n1,0,3x256x256,50\n0.5,0,3x256x256,20\n0.25,0,3x128x128,6\n0.5,0,3x128x128,7\n1,0,3x128x128,14\n"
    result = runner.invoke(app, ["latency", "fit", "fastscnn", "--measurements", str(_csv(tmp_path, text)),
                                 "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.output.splitlines() if line.startswith("warning")]
    assert len(warning) == 1 and "5 configurations for 6 costs" in warning[0]
    few = runner.invoke(app, ["latency", "fit", "fastscnn", "--measurements",
                              str(_csv(tmp_path, "\n".join(text.splitlines()[:4]) + "\n", "few.csv")), "--out",
                              str(tmp_path / "few.json")])
    assert few.exit_code == 2 and "3 distinct configurations; time at least 4" in few.output
    assert not (tmp_path / "few.json").exists()


def test_the_shipped_pi_model_is_the_fit_of_the_shipped_rows_and_predicts_them_within_its_error():
    shipped = lm.load("rpi4-ort-thesis")
    refit, why = device_fit.fit_measurements("fastscnn", PI)
    assert not why and refit.meta["group_costs"] == pytest.approx(shipped.meta["group_costs"], rel=1e-6)
    fit = shipped.meta["fit"]
    assert shipped.meta["fitted_on"]["rows"] == 39 and "Zema" in shipped.meta["fitted_on"]["source"]
    errors = []
    for m in measurements.read(PI):
        predicted = shipped.predict(compile_spec("specs/fastscnn.yaml", list(m.passes)).graph)
        errors.append(abs(predicted - m.latency_ms) / m.latency_ms)
    assert max(errors) <= fit["loo"]["max_error"] and np.mean(errors) <= fit["loo"]["mape"]
    assert fit["loo"]["spearman"] >= 0.98 and fit["loo"]["mape"] <= 0.08


def test_devices_lists_what_ships_and_a_name_works_wherever_a_model_file_does(tmp_path):
    listed = runner.invoke(app, ["devices", "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = [r for r in json.loads(listed.stdout) if r["name"] == "rpi4-ort-thesis"]
    assert row["fitted_on"]["configurations"] == 31 and row["fit"]["loo"]["mape"] > 0
    summary = runner.invoke(app, ["summary", "fastscnn", "--pass", "width=0.5", "--latency-model", "rpi4-ort-thesis"])
    assert summary.exit_code == 0 and "(latency model rpi4-ort-thesis)" in summary.output
    bad = runner.invoke(app, ["summary", "fastscnn", "--latency-model", "rpi5-ort"])
    assert bad.exit_code == 2 and "no such file and no shipped device of that name (shipped: rpi4-ort-thesis" in bad.output


def test_predicted_ms_is_lower_is_better_on_every_front(tmp_path):
    """One direction table: a sweep with --latency-model plotted as predicted_ms vs params keeps the
    fastest point (it used to count predicted_ms as higher-is-better and keep only the slowest)."""
    from archc.search.study import parse_objective
    from archc.sweep import pareto

    rows = [{"config": c, "predicted_ms": ms, "miou": q, "status": "ok"}
            for c, ms, q in (("a", 10.0, 0.5), ("b", 20.0, 0.6), ("c", 30.0, 0.7))]
    front = pareto.plot(rows, "predicted_ms", "miou", [(tmp_path / "p.png", "png")])
    assert [p[2]["config"] for p in front] == ["a", "b", "c"]
    assert str(parse_objective("predicted_ms")) == "predicted_ms:min"


def test_a_budget_met_exactly_is_feasible_for_the_stages_and_for_optuna():
    from archc.search.space import judge, parse_constraint

    at, over = parse_constraint("median_ms<=33.4"), parse_constraint("miou>=0.5")
    verdicts = judge([at, over], {"median_ms": 33.4, "miou": 0.45})
    assert [v for _, v in verdicts] == [0.0, pytest.approx(0.1)]
    assert judge([at], {"median_ms": None}) == [(at, None)]


def test_sweep_and_search_write_results_through_one_writer(tmp_path):
    from archc.search.run import write_rows as search_rows
    from archc.sweep.sweep import COLUMNS, write_rows

    rows = [{"trial": 0, "config": "width=0.5", "status": "ok", "width": "0.5", "device": {"host": "h"}}]
    search_rows(rows, tmp_path / "results.csv")
    with (tmp_path / "results.csv").open() as f:
        (got,) = list(csv.DictReader(f))
    assert list(got)[:2] == ["trial", "config"] and json.loads(got["device"]) == {"host": "h"}
    write_rows(rows[:1], tmp_path / "front.csv", ("trial",) + COLUMNS, with_json=False)
    assert (tmp_path / "front.csv").read_text() == (tmp_path / "results.csv").read_text()
    assert json.loads((tmp_path / "results.json").read_text()) == rows and not (tmp_path / "front.json").exists()
