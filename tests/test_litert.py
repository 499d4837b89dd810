"""LiteRT (issue 25): `build --format tflite|all` converts and verifies, eval and profile take .tflite
files, the converter's refusal and a missing extra are one line each. Conversion tests need
`pip install 'archc[litert]'` (not in `archc[test]`: see pyproject.toml) and skip without it."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from archc.cli import app
from archc.litert import available
from archc.train.synth import synthesize
from tinyspec import DSCONV, STEM, tiny_spec

runner = CliRunner()
needs_litert = pytest.mark.skipif(not available(), reason="LiteRT is not installed: pip install 'archc[litert]'")
TINY = tiny_spec(rows=(STEM, DSCONV, "{op: deconv, c: 8, k: 3, s: 2, p: 1, output_padding: 1}"), scale=2)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny net with ERFNet's padded deconv, trained one epoch on a 3-class synthetic set."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "tiny.yaml").write_text(TINY)
    synthesize(root / "data", 3, 12, (32, 32), seed=1)
    result = runner.invoke(app, ["train", str(root / "tiny.yaml"), "--data", str(root / "data"), "--epochs", "1",
                                 "--batch", "4", "--out", str(root / "run")])
    assert result.exit_code == 0, result.output
    return root


@pytest.mark.parametrize("h, k, s, p, op", [(7, 3, 2, 1, 1), (8, 4, 2, 1, 0), (5, 3, 3, 2, 2), (6, 5, 2, 2, 1)])
def test_cropped_deconv_computes_the_same_function(h, k, s, p, op):
    from archc.litert.convert import convertible

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 6, k, s, p, op)).eval()
    x = torch.randn(2, 4, h, h + 1)
    swapped = convertible(net)
    assert type(swapped[0]).__name__ == ("CroppedDeconv" if op else "ConvTranspose2d")
    assert type(net[0]).__name__ == "ConvTranspose2d"  # the original is left as it was (ONNX keeps it)
    with torch.no_grad():
        want, got = net(x), swapped(x)
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5)


def test_missing_extra_is_one_line_with_the_install_command(tiny, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.split(".")[0] in ("litert_torch", "ai_edge_litert")
                        else real(name, *a))
    result = runner.invoke(app, ["build", str(tiny / "tiny.yaml"), "--format", "tflite", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and not (tmp_path / "o").exists()
    assert result.output.strip() == ("archc: error: --format tflite needs litert-torch, which is not installed; "
                                     "pip install 'archc[litert]'")
    from archc.errors import ExportError
    from archc.measure import backends

    with pytest.raises(ExportError, match=r"--runtime litert: LiteRT is not installed; pip install 'archc\[litert\]'"):
        backends.load("litert", tmp_path / "m.onnx", (3, 32, 32), 1, tmp_path)


def test_unknown_format_is_refused(tiny, tmp_path):
    result = runner.invoke(app, ["build", str(tiny / "tiny.yaml"), "--format", "tf", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--format tf: choose onnx, tflite or all" in result.output


@needs_litert
@pytest.mark.slow
def test_build_all_converts_verifies_and_quantizes(tiny, tmp_path):
    images = tmp_path / "calib"
    images.mkdir()
    for i, name in enumerate(sorted((tiny / "data" / "train" / "images").iterdir())[:4]):
        (images / f"{i}{name.suffix}").write_bytes(name.read_bytes())
    out = tmp_path / "b"
    result = runner.invoke(app, ["build", str(tiny / "tiny.yaml"), "--format", "all", "--pass", "quantize=int8",
                                 "--calib", str(images), "--weights", str(tiny / "run" / "weights.pt"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    t = summary["tflite"]
    assert t["input"] == {"shape": [1, 3, 32, 32], "layout": "NCHW", "dtype": "float32"}
    assert t["outputs"][0]["shape"] == [1, 3, 32, 32] and "takes NCHW float32 1x3x32x32" in result.output
    assert 0 < t["verify"]["max_abs_diff"] <= t["verify"]["tolerance"] and summary["onnx"]["file"] == "model.onnx"
    q = t["quantize"]
    assert q["file"] == "model.int8.tflite" and q["input"]["dtype"] == "int8" and (out / q["file"]).is_file()
    assert q["calibration"]["samples"] == 4 and q["fidelity"]["inputs"] == "calibration images"
    assert q["fidelity"]["argmax_agreement"] > 0.8


@needs_litert
@pytest.mark.slow
def test_eval_through_the_litert_interpreter(tiny, tmp_path):
    out = tmp_path / "b"
    result = runner.invoke(app, ["build", str(tiny / "tiny.yaml"), "--format", "all",
                                 "--weights", str(tiny / "run" / "weights.pt"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    scores = {}
    for name in ("model.onnx", "model.tflite"):
        r = runner.invoke(app, ["eval", str(out / name), "--data", str(tiny / "data"), "--json"])
        assert r.exit_code == 0, r.output
        scores[name] = json.loads(r.output)
    assert scores["model.tflite"]["images"] == scores["model.onnx"]["images"] > 0
    assert abs(scores["model.tflite"]["miou"] - scores["model.onnx"]["miou"]) < 2e-3  # both float32 of one module
    timed = runner.invoke(app, ["profile", str(out / "model.tflite"), "--runs", "3", "--warmup", "1", "--json"])
    assert timed.exit_code == 0, timed.output
    assert json.loads(timed.stdout)["runtime"] == "litert"


@needs_litert
@pytest.mark.slow
def test_a_converter_refusal_is_one_line_naming_the_op(tmp_path, monkeypatch):
    """ERFNet's padded deconv as torch has it (archc's lowering for the converter switched off) is what
    the converter refuses; an op with no TFLite lowering at all (a 2-D FFT) likewise."""
    from archc.errors import ExportError
    from archc.litert import convert as conv

    class Fft(torch.nn.Module):
        def forward(self, x):
            return torch.fft.rfft2(x).abs()

    monkeypatch.setattr(conv, "convertible", lambda m: m)
    for name, net, op in [("deconv", torch.nn.ConvTranspose2d(3, 4, 3, 2, 1, 1), "mhlo.convolution"),
                          ("fft", Fft(), "aten._fft_r2c")]:
        with pytest.raises(ExportError) as info:
            conv.convert(net.eval(), (3, 8, 8), tmp_path / f"{name}.tflite", name)
        text = str(info.value)
        assert "\n" not in text and f"LiteRT conversion of '{name}' failed: the converter cannot lower op '{op}'" in text
        assert not (tmp_path / f"{name}.tflite").exists()


def _unpool_net(h: int, w: int, ceil: bool = False):
    import torch.nn.functional as F

    class Pool(torch.nn.Module):  # ENet's pair (SegNet's with ceil): a max-pool keeping indices, an unpool using them
        def __init__(self):
            super().__init__()
            self.pool = torch.nn.MaxPool2d(2, return_indices=True, ceil_mode=ceil)

        def forward(self, x):
            y, i = self.pool(x)
            return F.max_unpool2d(torch.relu(y) * 2 + 1, i, (2, 2), (2, 2), (0, 0), (h, w))

    class Outer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.b = torch.fx.symbolic_trace(Pool())  # archc's lowering is an fx graph, as here

        def forward(self, x):
            return self.b(x)

    return Outer().eval()


@pytest.mark.parametrize("h, w, ceil", [(8, 8, False), (9, 6, False), (7, 11, False), (8, 8, True), (9, 6, True),
                                        (7, 11, True)])
def test_tiled_maxpool_and_select_unpool_compute_the_same_function(h, w, ceil):
    from archc.litert.convert import convertible

    net = _unpool_net(h, w, ceil)
    swapped = convertible(net)
    assert type(swapped.b.pool).__name__ == "_TiledMaxPool" and type(net.b.pool).__name__ == "MaxPool2d"
    x = torch.randn(2, 3, h, w)
    with torch.no_grad():
        assert torch.equal(swapped(x), net(x))
        assert torch.equal(swapped.b.pool(x)[1], net.b.pool(x)[1])  # the same flat indices


@needs_litert
@pytest.mark.slow
def test_enets_unpooling_converts_exactly(tmp_path):
    from archc.litert.convert import convert
    from archc.litert.interpreter import Model

    net = _unpool_net(9, 8)
    x = torch.randn(1, 2, 9, 8)
    got = Model(convert(net, (2, 9, 8), tmp_path / "u.tflite")).run(x.numpy())[0]
    assert np.abs(got - net(x).detach().numpy()).max() < 1e-6


@needs_litert
@pytest.mark.slow
def test_segnets_ceil_mode_unpooling_converts_exactly(tmp_path):
    """SegNet's Caffe pooling rounds up (ceil_mode): converted as torch has it, its indices came out wrong and
    the .tflite differed by 5.08 at 3x352x480. Ties (ReLU zeros) and an odd size, where a window hangs over.
    Against another graph (floor mode: the last row and column stay zero) the refusal names the unpool."""
    from archc.errors import ExportError
    from archc.litert.convert import convert
    from archc.litert.interpreter import Model
    from archc.litert.verify import verify

    net = _unpool_net(9, 7, ceil=True)
    torch.manual_seed(0)
    x = torch.relu(torch.randn(1, 2, 9, 7))  # half zeros: tied windows must keep the first, as torch (values 2y+1)
    model = Model(convert(net, (2, 9, 7), tmp_path / "u.tflite"))
    assert np.abs(model.run(x.numpy())[0] - net(x).detach().numpy()).max() < 1e-6
    assert verify(model, net, (2, 9, 7), 1)["max_abs_diff"] < 1e-6
    with pytest.raises(ExportError, match=r"^verification failed: .*; op 'max_unpool' \(max_unpool2d\) moves"):
        verify(model, _unpool_net(9, 7, ceil=False), (2, 9, 7), 1)


@needs_litert
def test_a_pool_with_indices_whose_windows_overlap_is_refused_naming_the_op(tmp_path):
    """The converter lowers it without an error but with wrong indices; archc refuses it before converting."""
    from archc.errors import ExportError
    from archc.litert.convert import convert

    net = torch.nn.Sequential(torch.nn.MaxPool2d(3, 2, 1, return_indices=True)).eval()
    with pytest.raises(ExportError) as info:
        convert(net, (2, 9, 8), tmp_path / "p.tflite", "overlap")
    text = str(info.value)
    assert "\n" not in text and not (tmp_path / "p.tflite").exists()
    assert text.startswith("LiteRT conversion of 'overlap' failed: the converter gives op 'aten.max_pool2d_with_indices'")


@pytest.mark.parametrize("h, w, bins", [(3, 3, (8, 8)), (3, 3, (2, 2)), (5, 3, (4, 2)), (7, 6, (3, 4)), (6, 6, 1)])
def test_matmul_pool_computes_adaptive_average_pooling(h, w, bins):
    """Fast-SCNN's PPM at 96 px pools a 3x3 map to 2, 4 and 8 bins (windows overlap): the product with
    the averaging matrix gives torch's AdaptiveAvgPool2d values; a pool keeping an axis (None) is left."""
    from archc.litert.convert import convertible

    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(bins), torch.nn.AdaptiveAvgPool2d((None, 2))).eval()
    x = torch.randn(2, 5, h, w)
    swapped = convertible(net)
    assert [type(m).__name__ for m in swapped] == ["_MatmulPool", "AdaptiveAvgPool2d"]
    assert type(net[0]).__name__ == "AdaptiveAvgPool2d"  # the original is left as it was (ONNX keeps it)
    with torch.no_grad():
        assert torch.allclose(swapped[0](x), net[0](x), atol=1e-6)


@needs_litert
def test_adaptive_pooling_runs_in_xnnpack_and_quantizes(tmp_path):
    """The pool converts to ops XNNPACK takes (one delegated partition, none of torch.export's gather and
    mask ops left to LiteRT's reference kernels), with torch's values, and int8 quantizes it. The tensor
    names are short and unique (the converter's carry torch.export's wrapper path, ~250 characters)."""
    from archc.litert.convert import convert
    from archc.litert.interpreter import Model, quiet_fd
    from archc.litert.quantize import quantize
    from archc.passes import parse_pass

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), torch.nn.AdaptiveAvgPool2d(8), torch.nn.Conv2d(8, 4, 1))
    x = torch.randn(1, 3, 3, 3)
    model = Model(convert(net.eval(), (3, 3, 3), tmp_path / "p.tflite"))
    with quiet_fd():
        ops = [op["op_name"] for op in model.interp._get_ops_details()]
    assert ops.count("DELEGATE") == 1 and not {"GATHER_ND", "SELECT", "BROADCAST_TO", "SLICE"} & set(ops), ops
    assert np.abs(model.run(x.numpy())[0] - net(x).detach().numpy()).max() < 1e-5
    names = [t["name"] for t in model.interp.get_tensor_details()]
    assert len(set(names)) == len(names) and max(map(len, names)) < 80 and not any("torch.export" in n for n in names)
    path, report, _ = quantize(model.path, parse_pass("quantize=int8"), (3, 3, 3))
    assert Model(path).run(x.numpy())[0].shape == (1, 4, 8, 8) and report["fidelity"]["sqnr_db"] > 20


@needs_litert
def test_compaction_stores_each_equal_vector_once_and_keeps_the_model(tmp_path, monkeypatch):
    """ai-edge-quantizer gives every per-channel weight and bias tensor its own int64 zero points, all zeros;
    the compacted file stores each distinct vector once. Every tensor reads back the same (name, shape, type,
    bytes, scales, zero points), the interpreter gives the same outputs bit for bit, and a second pass
    changes nothing."""
    import shutil

    from ai_edge_litert.tools import flatbuffer_utils as fb

    from archc.litert.compact import compact
    from archc.litert.convert import convert
    from archc.litert.interpreter import Model
    from archc.litert.quantize import quantize
    from archc.passes import parse_pass

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(16, 16, 3, padding=1, groups=16), torch.nn.Conv2d(16, 16, 1),
                              torch.nn.Conv2d(16, 8, 1)).eval()
    fp32 = convert(net, (3, 8, 8), tmp_path / "m.tflite")
    monkeypatch.setattr("archc.litert.quantize.compact", lambda path: False)
    raw, _, _ = quantize(fp32, parse_pass("quantize=int8"), (3, 8, 8))
    monkeypatch.undo()
    packed = shutil.copyfile(raw, tmp_path / "packed.tflite")
    assert compact(packed)

    def values(t, field):
        v = None if t.quantization is None else getattr(t.quantization, field)
        return [] if v is None else [float(x) for x in v]

    def tensors(path):
        model = fb.read_model(str(path))
        data = [b"" if b.data is None else bytes(b.data) for b in model.buffers]
        return [(t.name, list(t.shape), t.type, data[t.buffer], values(t, "scale"),
                 values(t, "zeroPoint"), None if t.quantization is None else t.quantization.quantizedDimension)
                for g in model.subgraphs for t in g.tensors]

    before, after = tensors(raw), tensors(packed)
    assert before == after
    zero_points = [tuple(t[5]) for t in before if t[5] and len(t[5]) > 1]
    assert len(zero_points) >= 6  # 4 weights and their biases at least, per channel
    duplicated = 8 * (sum(map(len, zero_points)) - sum(map(len, set(zero_points))))
    assert raw.stat().st_size - packed.stat().st_size >= 0.9 * duplicated > 0
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal((1, 3, 8, 8)).astype(np.float32)
        assert np.array_equal(Model(raw).run(x)[0], Model(packed).run(x)[0])
    size = packed.stat().st_size
    assert compact(packed) and packed.stat().st_size == size and tensors(packed) == after
    monkeypatch.setattr("archc.litert.compact.packed", lambda model: 1 / 0)  # a flatbuffers it does not know
    raw_bytes = raw.read_bytes()
    assert not compact(raw) and raw.read_bytes() == raw_bytes  # the file stays as it was
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_recommendation_names_the_fastest_float32_runtime_and_a_slower_int8():
    from archc.deploy.benchmark import recommend

    rows = [{"runtime": "onnxruntime", "precision": "float32", "status": "ok", "median_ms": 2.0},
            {"runtime": "litert", "precision": "float32", "status": "ok", "median_ms": 1.0},
            {"runtime": "ncnn", "precision": "float32", "status": "skipped"},
            {"runtime": "onnxruntime", "precision": "int8", "status": "ok", "median_ms": 1.5},
            {"runtime": "litert", "precision": "int8", "status": "ok", "median_ms": 1.2}]
    lines = recommend(rows, {"avx2": True, "avx512": False, "vnni": False})
    assert lines[0] == "fastest float32 runtime here: litert (1.000 ms median)"
    assert len(lines) == 2 and lines[1].startswith("int8 is slower than float32 in litert on this CPU (1.200 vs 1.000")
    assert "avx2 yes, avx512 no, vnni no" in lines[1] and "lacks" in lines[1]


@needs_litert
def test_tflite_options_it_cannot_honour_are_refused_before_work(tiny, tmp_path):
    from archc.compile import compile_spec
    from archc.deploy.artifacts import BuildOptions
    from archc.errors import ExportError
    from archc.measure.targets import Target

    result = runner.invoke(app, ["build", str(tiny / "tiny.yaml"), "--format", "tflite", "--dynamic-batch",
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--dynamic-batch: a .tflite file has a fixed batch of 1" in result.output
    assert not (tmp_path / "o").exists()
    options = BuildOptions(formats=("tflite",), profile=True, target=Target(per_layer=True))
    with pytest.raises(ExportError, match="--profile with --host or --per-layer"):
        options.check(compile_spec(tiny / "tiny.yaml"))


@needs_litert
@pytest.mark.slow
def test_litert_is_a_back_end_like_openvino(tiny, tmp_path):
    """`--runtime litert` / benchmark's row: converted from the module, checked against PyTorch, then timed."""
    from archc.compile import compile_spec
    from archc.measure import backends
    from archc.torch.weights import lowered

    graph = compile_spec(tiny / "tiny.yaml").graph
    runner_, diff, size = backends.verified_runner("litert", tmp_path / "unused.onnx", lowered(graph).eval(),
                                                   graph.input_shape, 1, tmp_path)
    assert diff <= 1e-4 and size == (tmp_path / "model.tflite").stat().st_size and runner_.runtime == "litert"
    runner_.run()
