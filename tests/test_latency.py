"""Per-layer profiles, the latency model, explain --latency, and the OpenVINO / ncnn runtimes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SPEC_DIR
from typer.testing import CliRunner

from archc.cli import app
from archc.compile import compile_spec
from archc.errors import ArchcError, ExportError
from archc.measure import latency_model as lm
from archc.measure.timing import Timing

runner = CliRunner()


@pytest.fixture(scope="module")
def per_layer(small_build):
    """The small build's float32 model profiled per layer on this machine."""
    from archc.measure.layers import rows_of
    from archc.measure.targets import Target, profile_model

    compiled, out, _ = small_build
    return compiled, profile_model(out / "model.onnx", Target(per_layer=True), Timing(1, 5, 2), compiled.report,
                                   rows_of(compiled.graph))


@pytest.mark.slow
def test_every_ort_kernel_maps_to_a_summary_layer(per_layer):
    compiled, result = per_layer
    names = [l["name"] for l in result["layers"]]
    assert names == [l.name for l in compiled.report.layers]  # same keys, same order as summary --json
    assert result["unattributed_ms"] == 0  # fused nodes, nchwc renames and layout reorders all traced back
    ms = {l["name"]: l["ms"] for l in result["layers"]}
    convs = [l.name for l in compiled.report.layers if l.op == "conv"]
    assert all(ms[c] > 0 for c in convs)
    assert all(ms[l.name] == 0 for l in compiled.report.layers if l.op == "bn")  # folded: the conv's time
    assert sum(ms.values()) == pytest.approx(result["node_sum_ms"], abs=1e-3)
    for key in ("rows", "stages"):
        assert sum(g["ms"] for g in result[key]) == pytest.approx(result["node_sum_ms"], abs=1e-3)
    assert [s["name"] for s in result["stages"]] == list(compiled.report.stages())
    assert result["node_sum_ratio"] == pytest.approx(result["node_sum_ms"] / result["end_to_end_median_ms"], rel=0.01)


@pytest.mark.slow
def test_an_int8_models_fused_kernels_are_their_convs_time(small_build, tmp_path):
    """ORT fuses an int8 model's DequantizeLinear -> Conv -> QuantizeLinear into one QLinearConv named
    `<conv>_token_<n>`, whose output is named after the conv: each is traced to its conv, as a FusedConv is,
    and a quantizer the quantizer added to the layer it quantizes for. (Before, 67% of Fast-SCNN's int8
    per-node time was unattributed; with the fused kernels alone, 13% of this net's.)"""
    from archc.measure.layers import rows_of
    from archc.measure.targets import Target, profile_model

    compiled, out, _ = small_build
    result = profile_model(out / "model.int8.onnx", Target(per_layer=True), Timing(1, 5, 2), compiled.report,
                           rows_of(compiled.graph))
    ms = {l["name"]: l["ms"] for l in result["layers"]}
    assert all(ms[l.name] > 0 for l in compiled.report.layers if l.op == "conv")
    assert result["unattributed_ms"] < 0.1 * result["node_sum_ms"], (result["unattributed_ms"], result["node_sum_ms"])
    import onnx
    import onnxruntime as ort

    from archc.measure.layers import trace

    options = ort.SessionOptions()  # the same, timing aside: which kernel traces to which layer
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(out / "model.int8.onnx"), options, providers=["CPUExecutionProvider"])
    optimized, model = onnx.load(options.optimized_model_filepath), onnx.load(str(out / "model.int8.onnx"))
    names, known = trace(optimized, model), {l.name for l in compiled.report.layers}
    ends = {v.name for v in (*optimized.graph.input, *optimized.graph.output)}
    kernels = [n for n in optimized.graph.node if n.op_type.startswith("QLinear") or n.op_type == "QGemm"
               or n.op_type in ("QuantizeLinear", "DequantizeLinear") and not ends & {*n.input, *n.output}]
    assert kernels and [n.name for n in kernels if names[n.name] not in known] == []


@pytest.mark.slow
def test_models_timed_interleaved_in_one_process(small_build, tmp_path):
    """profile_many: one model per layer and one end to end, their runs interleaved; each result is
    the contract of profile_model, and the CPU-time median never exceeds the wall-clock one."""
    import shutil

    from archc.measure.layers import rows_of
    from archc.measure.targets import profile_many

    compiled, out, _ = small_build
    shutil.copyfile(out / "model.onnx", tmp_path / "plain.onnx")
    layered, plain = profile_many([(out / "model.onnx", True, compiled.report, rows_of(compiled.graph)),
                                   (tmp_path / "plain.onnx", False, None, None)], Timing(1, 5, 2))
    for r in (layered, plain):
        assert r["runs"] == 5 and r["warmup"] == 2 and r["input"] == [3, 128, 128] and r["device"]["host"] == "local"
        assert 0 < r["cpu_median_ms"] <= r["median_ms"] * 1.01 + 0.01
    assert [l["name"] for l in layered["layers"]] == [l.name for l in compiled.report.layers]
    assert layered["unattributed_ms"] == 0 and "layers" not in plain
    assert not list(out.glob("*.profile*"))  # ORT's profile went to a temporary copy, not beside the model


def test_calibration_recovers_work_and_fixed_scales():
    """End-to-end = 0.9 * work + 0.4 * fixed + 0.05 ms is recovered from per-layer costs (the
    profiler inflates the fixed part, not the work), on relative errors."""
    costs = {"conv_1x1": {"layers": 0.01, "macs": 0.02, "bytes": 0.001}, "add": {"layers": 0.02, "macs": 0.0,
                                                                                "bytes": 0.004}}
    model = lm.LatencyModel(costs)
    totals = [{"conv_1x1": np.array([n, 1e6 * m, 1e6 * b]), "add": np.array([n / 2, 0, 1e6 * b])}
              for n, m, b in ((10, 5, 1), (40, 2, 3), (80, 50, 2), (20, 100, 10), (5, 1, 0.5))]
    measured = [0.9 * model.parts(t)[1] + 0.4 * model.parts(t)[0] + 0.05 for t in totals]
    lm.calibrate(model, list(zip(totals, measured)))
    assert (model.scale, model.fixed_scale, model.offset) == pytest.approx((0.9, 0.4, 0.05), rel=1e-6)
    assert [model.calibrated(t) for t in totals] == pytest.approx(measured, rel=1e-9)
    lm.calibrate(few := lm.LatencyModel(costs), list(zip(totals[:2], [2 * sum(few.parts(t)) for t in totals[:2]])))
    assert few.scale == pytest.approx(2) and few.fixed_scale is None  # too few probes: one ratio


def test_a_format_1_model_still_loads_with_one_scale(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps({"format": "archc-latency-model/1", "scale": 2.0, "offset": 0.0,
                                                    "costs": {"conv_1x1": {"layers": 1.0, "macs": 0, "bytes": 0}}}))
    old = lm.load(tmp_path / "old.json")
    assert old.fixed_scale is None and old.calibrated({"conv_1x1": np.array([3.0, 0, 0])}) == pytest.approx(6.0)


@pytest.mark.slow
def test_profile_per_layer_cli(small_build):
    _, out, _ = small_build
    result = runner.invoke(app, ["profile", str(out / "model.onnx"), "--per-layer", "--runs", "3", "--warmup", "1"])
    assert result.exit_code == 0, result.output
    assert "per-node sum" in result.stdout and "ltd.0.0.conv" in result.stdout
    refused = runner.invoke(app, ["profile", str(out / "model.onnx"), "--per-layer", "--runtime", "torch"])
    assert refused.exit_code == 2 and "--per-layer ONNX Runtime or OpenVINO" in refused.stderr


def test_explain_latency_column_sums_the_rows_layers():
    from archc.reports.explain import markdown

    c = compile_spec(SPEC_DIR / "fastscnn.yaml", ["width=0.25"], "3x256x256")
    text = markdown(c, {l.name: 0.5 for l in c.report.layers if l.name.startswith("gfe.0.")})
    gfe0 = next(line for line in text.splitlines() if line.startswith("| 0 |") and "bottleneck" in line)
    assert gfe0.endswith(f" {0.5 * sum(1 for l in c.report.layers if l.name.startswith('gfe.0.')):.3f} |")
    assert "| gfe.0.0.expand.conv | conv |" in text and "MACs = | ms |" in text


def test_nnls_recovers_known_costs_and_never_goes_negative():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 10, (50, 3))
    truth = np.array([0.2, 0.0, 1.5])
    x = lm.nnls(a, a @ truth + rng.normal(0, 1e-3, 50))
    assert x == pytest.approx(truth, abs=1e-3)
    assert (lm.nnls(a, -a[:, 0]) >= 0).all()


def test_latency_model_fits_known_per_kind_costs():
    """Layer times made from known costs are recovered, and the model predicts unseen graphs exactly."""
    costs = {"conv_1x1": [0.01, 0.02, 0.001], "conv_depthwise": [0.02, 0.08, 0.004], "conv_kxk": [0.03, 0.015, 0.0]}
    truth = lm.LatencyModel({k: dict(zip(lm.FEATURES, v)) for k, v in costs.items()}, 1.2, 0.0)
    graphs = [compile_spec(SPEC_DIR / "fastscnn.yaml", [f"width={w}", "drop=ppm", f"input=3x{s}x{s}"]).graph
              for w in (1, 0.25) for s in (256, 128)]
    layers, models = [], []
    for g in graphs:
        for _, k, f in lm.layer_features(g):
            layers.append((k, f, truth.layer_sum({k: f})))
        models.append((lm.kind_totals(g), truth.predict(g)))
    fitted = lm.fit(layers, models)
    unseen = compile_spec(SPEC_DIR / "fastscnn.yaml", ["width=0.5", "expand=4", "drop=ppm", "input=3x192x192"]).graph
    assert fitted.predict(unseen) == pytest.approx(truth.predict(unseen), rel=1e-3)
    assert fitted.scale == pytest.approx(1.2, rel=1e-3)


def test_latency_model_on_summary_and_sweep(tmp_path):
    model = lm.LatencyModel({"conv_1x1": {"layers": 0.01, "macs": 0.02, "bytes": 0.0}}, 1.0, 0.5,
                            {"device": {"host": "local"}, "threads": 1})
    model.save(tmp_path / "m.json")
    spec = str(SPEC_DIR / "fastscnn.yaml")
    result = runner.invoke(app, ["summary", spec, "--pass", "width=0.5", "--json", "--latency-model",
                                 str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    predicted = json.loads(result.stdout)["latency_model"]["predicted_ms"]
    graph = compile_spec(spec, ["width=0.5"]).graph
    assert predicted == pytest.approx(model.predict(graph), abs=1e-3) and predicted > 0.5
    swept = runner.invoke(app, ["sweep", spec, "--grid", "width=1,0.5", "--json", "--latency-model",
                                str(tmp_path / "m.json")])
    assert swept.exit_code == 0, swept.output
    rows = {r["config"]: r["predicted_ms"] for r in json.loads(swept.stdout)}
    assert rows["width=0.5"] == pytest.approx(predicted, abs=1e-3) and rows["width=1"] > rows["width=0.5"]


@pytest.mark.parametrize("text, needle", [("{", "not JSON"), ('{"costs": {}}', "not a latency model")])
def test_bad_latency_model_file(tmp_path, text, needle):
    (tmp_path / "m.json").write_text(text)
    result = runner.invoke(app, ["summary", str(SPEC_DIR / "fastscnn.yaml"), "--latency-model",
                                 str(tmp_path / "m.json")])
    assert result.exit_code == 2 and needle in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_rank_and_error_metrics():
    assert lm.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert lm.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert lm.mape([110, 90], [100, 100]) == pytest.approx(0.1)


@pytest.mark.slow
def test_openvino_is_verified_against_pytorch_in_float32(small_build, tmp_path):
    from archc.measure.backends import verified_runner
    from archc.torch.weights import lower_seeded

    compiled, out, _ = small_build
    run, diff, size = verified_runner("openvino", out / "model.onnx", lower_seeded(compiled.graph),
                                      compiled.graph.input_shape, 1, tmp_path)
    assert diff <= 1e-4 and size == (out / "model.onnx").stat().st_size
    run.run()


@pytest.mark.slow
def test_openvino_per_layer_counters_map_to_the_summary_layers(small_build, tmp_path):
    """PERF_COUNT's nodes (`<node>/WithoutBiases`, layout reorders, fused ReLUs not run) land on the
    spec's layers: every conv timed, shares summing to 1, the per-node sum the layers' sum."""
    from archc.measure.backends import verified_runner
    from archc.measure.backends.openvino_layers import profile, spec_path
    from archc.measure.layers import rows_of
    from archc.torch.weights import lower_seeded

    compiled, out, _ = small_build
    run, _, _ = verified_runner("openvino", out / "model.onnx", lower_seeded(compiled.graph),
                                compiled.graph.input_shape, 1, tmp_path)
    result = profile(out / "model.onnx", run, compiled.report, rows_of(compiled.graph), Timing(1, 3, 1))
    assert [l["name"] for l in result["layers"]] == [l.name for l in compiled.report.layers]
    ms = {l["name"]: l["ms"] for l in result["layers"]}
    assert all(ms[l.name] > 0 for l in compiled.report.layers if l.op == "conv")
    assert sum(ms.values()) + result["unattributed_ms"] == pytest.approx(result["node_sum_ms"], abs=1e-3)
    # left unattributed: only nodes OpenVINO made itself (the overlapping PPM pool's ReduceMean_N at 128x128)
    assert result["unattributed_ms"] < 0.15 * result["node_sum_ms"] and result["runs"] == 3
    paths = {"ltd.0.0.conv": "ltd.0.0.conv", "ltd.0.0.act": "ltd.0.0.act"}
    assert spec_path("ltd.0.0.conv/WithoutBiases", paths) == "ltd.0.0.conv"
    assert spec_path("input_abcd_acdb_ltd.0.0.conv/WithoutBiases", paths) == "ltd.0.0.conv"
    assert spec_path("output", paths, {"output": "ltd.0.0.act"}) == "ltd.0.0.act"
    assert spec_path("Constant_123", paths) == "(unattributed)"


@pytest.mark.slow
def test_ncnn_refuses_a_model_with_a_layer_it_lacks(small_build, tmp_path):
    from archc.measure.backends import verified_runner
    from archc.torch.weights import lower_seeded

    compiled, out, _ = small_build  # its 8-bin pool on a 4x4 map exports as GatherND
    with pytest.raises(ExportError, match="ncnn has no GatherND"):
        verified_runner("ncnn", out / "model.onnx", lower_seeded(compiled.graph), compiled.graph.input_shape, 1,
                        tmp_path)


def test_a_missing_runtime_is_one_line_with_the_install_command(monkeypatch, tmp_path):
    from archc.measure import backends

    monkeypatch.setitem(backends.BACKENDS, "ncnn", ("archc.measure.backends.ncnn", "ncnn_not_installed_here", "ncnn"))
    with pytest.raises(ArchcError, match=r"ncnn is not installed; pip install 'archc\[ncnn\]'"):
        backends.load("ncnn", tmp_path / "m.onnx", (3, 8, 8), 1, tmp_path)


@pytest.mark.slow
def test_benchmark_times_every_runtime_and_says_why_one_is_skipped(small_build, tmp_path):
    from archc.cli import render_latency
    from archc.deploy.artifacts import BuildOptions, Product
    from archc.deploy.benchmark import run_all
    from archc.torch.weights import lower_seeded

    compiled, out, summary = small_build
    product = Product({"verify": summary["verify"]}, lower_seeded(compiled.graph), {"float32": out / "model.onnx"})
    rows = run_all(product, compiled.graph.input_shape, BuildOptions(runs=3, warmup=1), tmp_path,
                   ("ort", "torch", "openvino", "ncnn"))  # LiteRT's row: tests/test_litert.py
    by = {r["runtime"]: r for r in rows}
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "skipped"] and "GatherND" in by["ncnn"]["reason"]
    for name in ("onnxruntime", "torch", "openvino"):
        assert by[name]["max_abs_diff"] <= 1e-4 and by[name]["median_ms"] > 0
    assert by["onnxruntime"]["vs_ort"] == 1.0
    render_latency.benchmark(rows)


class _Tiny:
    """Conv-BN-ReLU, a depthwise conv, pooling and an align-corners resize: what Fast-SCNN is made of."""

    @staticmethod
    def module():
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU())
                self.dw = nn.Conv2d(8, 8, 3, 1, 1, groups=8)
                self.pool = nn.AvgPool2d(2)

            def forward(self, x):
                y = self.pool(self.dw(self.a(x)))
                return nn.functional.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=True)

        torch.manual_seed(0)
        net = Net().eval()
        net.a[1].running_mean.uniform_(-0.5, 0.5)  # a BN that is not the identity
        net.a[1].running_var.uniform_(0.5, 2)
        return net


@pytest.mark.slow
def test_ncnn_converts_runs_and_matches_pytorch(tmp_path):
    from archc.measure.backends import verified_runner
    from archc.onnx.export import export_module, save_checked

    net = _Tiny.module()
    save_checked(export_module(net, (3, 32, 32)), tmp_path / "tiny.onnx")
    (tmp_path / "ncnn").mkdir()
    run, diff, size = verified_runner("ncnn", tmp_path / "tiny.onnx", net, (3, 32, 32), 1, tmp_path / "ncnn")
    assert diff <= 1e-4 and size > 0 and run.runtime == "ncnn"
    run.run()


def test_latency_fit_refuses_a_grid_with_no_valid_configuration(tmp_path):
    result = runner.invoke(app, ["latency", "fit", str(SPEC_DIR / "fastscnn.yaml"), "--grid", "input=3x64x64",
                                 "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 2 and "no configuration" in result.stderr, result.output
    assert not (tmp_path / "m.json").exists()
