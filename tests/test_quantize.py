"""The quantize pass: parsing, what the int8 model is made of, calibration inputs,
and the size / latency / fidelity report."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import SPEC_DIR

from archc.compile import compile_spec
from archc.errors import ArchcError, ExportError, PassError
from archc.passes import parse_pass


def test_quantize_parses_and_is_carried_to_export_not_into_the_spec():
    c = compile_spec(SPEC_DIR / "fastscnn.yaml", ["quantize=int8,samples=4", "width=0.5"], "3x64x64")
    assert c.quantize.mode == "int8" and c.quantize.samples == 4
    plain = compile_spec(SPEC_DIR / "fastscnn.yaml", ["width=0.5"], "3x64x64")
    assert c.graph.signature() == plain.graph.signature() and c.spec == plain.spec
    assert parse_pass("quantize=fp16").describe() == "quantize=fp16"


@pytest.mark.parametrize("text, needle", [("quantize=int4", "int8, dynamic, fp16"), ("quantize=int8,act=int16", "act"),
                                          ("quantize", "needs a value")])
def test_bad_quantize_pass(text, needle):
    with pytest.raises(PassError, match=needle):
        parse_pass(text)


def test_quantize_given_twice():
    with pytest.raises(PassError, match="give it once"):
        compile_spec(SPEC_DIR / "fastscnn.yaml", ["quantize=int8", "quantize=fp16"])


@pytest.mark.slow
def test_int8_is_static_qdq_uint8_activations_int8_per_channel_weights(small_build):
    import onnx

    _, out, summary = small_build
    q = summary["quantize"]
    assert q["file"] == "model.int8.onnx" and q["size_ratio"] > 1.3  # small model: per-channel scales weigh in
    assert (q["activations"], q["weights"], q["per_channel"], q["format"]) == ("uint8", "int8", True, "QDQ")
    model = onnx.load(str(out / "model.int8.onnx"))
    inits = {i.name: i for i in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    dq_x, dq_w = producers[conv.input[0]], producers[conv.input[1]]
    assert dq_x.op_type == dq_w.op_type == "DequantizeLinear"  # convs really run quantized
    assert inits[dq_w.input[0]].data_type == onnx.TensorProto.INT8
    assert len(inits[dq_w.input[1]].dims) == 1 and inits[dq_w.input[1]].dims[0] > 1  # one scale per channel
    assert inits[dq_x.input[2]].data_type == onnx.TensorProto.UINT8


def test_compaction_keeps_the_model_and_the_fused_kernels(tmp_path):
    """ORT's quantizer writes a zero point per weight and bias channel, all zeros (symmetric int8), a bias scale
    that is input scale × weight scale, and long tensor names: without the zero points DequantizeLinear takes
    its default, 0; the bias scale as a Mul of the two is folded before ORT fuses the QDQ group; so ORT runs the
    same QLinearConv on the same values from a smaller file. A second pass finds nothing left to do."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from archc.onnx.compact import compact

    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((16, 3, 3, 3)).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1], name="c")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 8, 8])],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "f.onnx"))
    xs = [rng.standard_normal((1, 3, 8, 8)).astype(np.float32) for _ in range(4)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter({"x": x} for x in xs)

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(tmp_path / "f.onnx"), str(tmp_path / "q.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, weight_type=QuantType.QInt8)
    (tmp_path / "d.onnx").write_bytes((tmp_path / "q.onnx").read_bytes())
    done = compact(tmp_path / "d.onnx")
    assert done["zero_points"] == 2 and done["bias_scales"] == 1 and done["names"] > 5, done  # weights', bias's
    onnx.checker.check_model(str(tmp_path / "d.onnx"))
    model = onnx.load(str(tmp_path / "d.onnx"))
    assert [n.name for n in model.graph.node if n.op_type == "Conv"] == ["c"]  # nodes keep their names
    assert [v.name for v in (*model.graph.input, *model.graph.output)] == ["x", "y"]
    sessions, kernels = {}, []
    for name in ("q.onnx", "d.onnx"):
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(tmp_path / f"opt.{name}")
        sessions[name] = ort.InferenceSession(str(tmp_path / name), options, providers=["CPUExecutionProvider"])
        kernels.append([n.op_type for n in onnx.load(str(tmp_path / f"opt.{name}")).graph.node])
    assert kernels[0] == kernels[1] and "QLinearConv" in kernels[1] and "Mul" not in kernels[1], kernels
    for x in xs:
        assert np.array_equal(sessions["q.onnx"].run(None, {"x": x})[0], sessions["d.onnx"].run(None, {"x": x})[0])
    assert (tmp_path / "d.onnx").stat().st_size < (tmp_path / "q.onnx").stat().st_size - 16 * 9
    assert compact(tmp_path / "d.onnx") == {"zero_points": 0, "bias_scales": 0, "names": 0}


def test_a_rewrite_that_ort_would_run_otherwise_is_not_kept(tmp_path, monkeypatch):
    """A Gemm's zero points stay: without them ORT does not fuse its QDQ group into QGemm and computes it
    in float, other values (SegFormer's and MobileViT's int8). And whatever the rewrite, it is kept only when
    ORT runs the same kernels to the same outputs: the old rule (drop every all-zero zero point) is refused
    here and the file is left as the quantizer wrote it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from archc.onnx import compact as c

    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((8, 16)).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, name="fc")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "f.onnx"))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter({"x": rng.standard_normal((1, 16)).astype(np.float32)} for _ in range(4))

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(tmp_path / "f.onnx"), str(tmp_path / "q.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, weight_type=QuantType.QInt8)
    raw = (tmp_path / "q.onnx").read_bytes()
    (tmp_path / "d.onnx").write_bytes(raw)
    done = c.compact(tmp_path / "d.onnx")
    assert done["zero_points"] == 0 and done["names"] > 0, done
    assert c.runs_the_same(tmp_path / "q.onnx", tmp_path / "d.onnx", tmp_path)

    def every_zero_point(model):  # the rule before: also the Gemm's
        g = model.graph
        zero = {t.name for t in g.initializer if numpy_helper.to_array(t).size > 1
                and not numpy_helper.to_array(t).any() and t.data_type in (TensorProto.INT8, TensorProto.INT32)}
        for n in g.node:
            if n.op_type == "DequantizeLinear" and len(n.input) == 3 and n.input[2] in zero:
                del n.input[2]
        return len(zero)

    monkeypatch.setattr(c, "drop_zero_points", every_zero_point)
    (tmp_path / "e.onnx").write_bytes(raw)
    assert c.compact(tmp_path / "e.onnx") == {"zero_points": 0, "bias_scales": 0, "names": 0}
    assert (tmp_path / "e.onnx").read_bytes() == raw

    def broken(*args):  # ORT cannot load the rewrite: the quantizer's file stays, and nothing is left beside it
        raise RuntimeError("cannot load")

    monkeypatch.setattr(c, "runs_the_same", broken)
    assert c.compact(tmp_path / "e.onnx") == {"zero_points": 0, "bias_scales": 0, "names": 0}
    assert (tmp_path / "e.onnx").read_bytes() == raw and sorted(p.name for p in tmp_path.iterdir()
                                                               if p.name.startswith(".")) == []


def test_short_names_never_give_two_tensors_one_name():
    """A tensor already called 't1' keeps the new names unique: no other tensor is given its name."""
    from onnx import TensorProto, helper

    from archc.onnx.compact import short_names

    nodes = [helper.make_node("Relu", ["x"], ["long_name_a"]), helper.make_node("Relu", ["long_name_a"], ["t1"]),
             helper.make_node("Relu", ["t1"], ["t0"]), helper.make_node("Add", ["t0", "long_name_a"], ["y"])]
    info = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, [1])  # noqa: E731
    model = helper.make_model(helper.make_graph(nodes, "g", [info("x")], [info("y")]))
    for _ in range(2):  # the second pass starts from names like those it makes
        short_names(model)
        outputs = [o for n in model.graph.node for o in n.output]
        assert len(set(outputs)) == 4 and outputs[-1] == "y" and model.graph.node[0].input[0] == "x"
        assert [list(n.input) for n in model.graph.node[1:]] == [[outputs[0]], [outputs[1]], [outputs[2], outputs[0]]]


def test_a_bias_scale_that_is_not_the_product_is_kept(tmp_path):
    """Only a bias scale equal, bit for bit, to input scale × weight scale is derived: another is data."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from archc.onnx.compact import derive_bias_scales

    f = np.float32
    inits = [numpy_helper.from_array(np.ones((2, 1, 1, 1), np.int8), "wq"), numpy_helper.from_array(f(0.5), "xs"),
             numpy_helper.from_array(np.array([0.25, 0.125], f), "ws"), numpy_helper.from_array(np.ones(2, np.int32), "bq"),
             numpy_helper.from_array(np.array([0.125, 0.0625 * 1.0000001], f), "bs")]
    nodes = [helper.make_node("DequantizeLinear", ["xq", "xs"], ["x"]),
             helper.make_node("DequantizeLinear", ["wq", "ws"], ["w"], axis=0),
             helper.make_node("DequantizeLinear", ["bq", "bs"], ["b"], axis=0),
             helper.make_node("Conv", ["x", "w", "b"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("xq", TensorProto.INT8, [1, 1, 2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 2, 2])], inits)
    model = helper.make_model(graph)
    assert derive_bias_scales(model) == 0 and "bs" in {t.name for t in model.graph.initializer}
    model.graph.initializer[-1].CopyFrom(numpy_helper.from_array(np.array([0.125, 0.0625], f), "bs"))
    assert derive_bias_scales(model) == 1 and "bs" not in {t.name for t in model.graph.initializer}
    assert [n.op_type for n in model.graph.node][0] == "Mul"
    onnx.checker.check_model(model)


@pytest.mark.slow
def test_int8_report(small_build):
    _, _, summary = small_build
    q = summary["quantize"]
    f = q["fidelity"]
    assert f["sqnr_db"] > 15 and f["argmax_agreement"] > 0.9 and f["max_abs_diff"] > 0
    assert q["calibration"] == {"source": "synthetic", "samples": 16}
    assert any("synthetic" in w for w in summary["warnings"])
    lat = q["latency"]  # from the interleaved --profile runs
    assert lat["speedup"] == pytest.approx(lat["float32_median_ms"] / lat["int8_median_ms"], abs=5e-4)  # rounded to 3 places
    assert {p["model"] for p in summary["profile"]} == {"model.onnx", "model.int8.onnx", "eager"}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fp16", "dynamic"])
def test_fp16_and_dynamic(small_build, tmp_path, mode):
    import shutil

    from archc.onnx.quantize import quantize

    _, out, _ = small_build
    shutil.copy(out / "model.onnx", tmp_path / "model.onnx")
    q = quantize(tmp_path / "model.onnx", parse_pass(f"quantize={mode}"), (3, 128, 128))
    assert (tmp_path / f"model.{mode}.onnx").exists() and q.report["size_ratio"] > 1.5
    assert q.report["fidelity"]["sqnr_db"] > 20 and q.warning is None


def test_calibration_from_images_and_arrays(tmp_path):
    from PIL import Image

    from archc.onnx.calib import MEAN, STD, Calibration

    Image.new("RGB", (40, 30), (255, 0, 128)).save(tmp_path / "a.png")
    np.save(tmp_path / "b.npy", np.full((3, 16, 16), 0.5, np.float32))
    (tmp_path / "notes.txt").write_text("ignored")
    data = Calibration((3, 16, 16), tmp_path, samples=8)
    assert data.count == 2 and data.real and data.warning is None
    img, arr = data.arrays
    assert img.shape == (1, 3, 16, 16)
    assert img[0, :, 0, 0] == pytest.approx([(1 - MEAN[0]) / STD[0], -MEAN[1] / STD[1], (128 / 255 - MEAN[2]) / STD[2]],
                                            abs=1e-5)
    assert np.all(arr == 0.5)


def test_calibration_uses_the_given_normalization_not_imagenets(tmp_path):
    """A spec's `normalize:` reaches the calibration images (issue 28: ImageNet's was always used)."""
    from PIL import Image

    from archc.onnx.calib import MEAN, STD, Calibration

    Image.new("RGB", (20, 20), (255, 0, 128)).save(tmp_path / "a.png")
    mean, std = (0.5, 0.25, 0.75), (0.1, 0.2, 0.3)
    img = Calibration((3, 8, 8), tmp_path, normalize=(mean, std)).arrays[0][0, :, 0, 0]
    want = [(1 - 0.5) / 0.1, (0 - 0.25) / 0.2, (128 / 255 - 0.75) / 0.3]
    assert img == pytest.approx(want, abs=1e-5)
    imagenet = Calibration((3, 8, 8), tmp_path).arrays[0][0, :, 0, 0]
    assert imagenet == pytest.approx([(1 - MEAN[0]) / STD[0], -MEAN[1] / STD[1], (128 / 255 - MEAN[2]) / STD[2]],
                                     abs=1e-5)
    assert np.max(np.abs(img - imagenet)) > 1  # a different, and the right, answer


@pytest.mark.slow
def test_build_calibrates_with_the_specs_normalization(tmp_path):
    """`archc build --pass quantize=int8 --calib DIR` on a spec with an unusual `normalize:`."""
    import yaml
    from PIL import Image

    from archc.deploy.artifacts import BuildOptions, write_build

    doc = yaml.safe_load((SPEC_DIR / "fastscnn.yaml").read_text())
    doc["normalize"] = {"mean": [0.5, 0.25, 0.75], "std": [0.1, 0.2, 0.3]}
    (tmp_path / "odd.yaml").write_text(yaml.safe_dump(doc))
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (40, 40), (255, 0, 128)).save(images / "a.png")
    c = compile_spec(tmp_path / "odd.yaml", ["width=0.25", "quantize=int8,samples=1"], "3x64x64")
    summary = write_build(c, tmp_path / "out", options=BuildOptions(calib=images, runs=1, warmup=0))
    assert summary["quantize"]["calibration"]["normalize"] == {"mean": [0.5, 0.25, 0.75], "std": [0.1, 0.2, 0.3]}


@pytest.mark.parametrize("setup, needle", [
    (lambda d: None, "no images found"),
    (lambda d: np.save(d / "x.npy", np.zeros((3, 8, 8), np.float32)), "shape [3, 8, 8]"),
    (lambda d: (d / "x.png").write_bytes(b"not a png"), "cannot read image"),
])
def test_calibration_errors(tmp_path, setup, needle):
    from archc.onnx.calib import Calibration

    setup(tmp_path)
    with pytest.raises(ExportError, match=needle.replace("[", r"\[")):
        Calibration((3, 16, 16), tmp_path)


def test_calibration_dir_must_exist(tmp_path):
    from archc.onnx.calib import Calibration

    with pytest.raises(ArchcError, match="not a directory"):
        Calibration((3, 16, 16), tmp_path / "missing")


def test_fidelity_metrics(tmp_path):
    from archc.onnx.quantize import _agreement

    ref = np.array([[[[1.0, -1.0]]], [[[2.0, -0.5]]]], np.float32)  # N=2, C=1: a one-class mask
    assert _agreement(ref, ref * 0.9) == 1.0
    assert _agreement(ref, -ref) == 0.0
    logits = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0]])
    assert _agreement(logits, logits[:, [1, 0, 2]]) == 0.0



def test_calib_without_int8_is_refused(tmp_path):
    from typer.testing import CliRunner

    from archc.cli import app

    result = CliRunner().invoke(app, ["build", str(SPEC_DIR / "fastscnn.yaml"), "--calib", str(tmp_path),
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "quantize=int8" in result.output and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_int8_calibrated_on_images(small_build, tmp_path):
    import shutil

    from PIL import Image

    from archc.onnx.quantize import quantize

    _, out, _ = small_build
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (50, 40, 3), dtype=np.uint8)).save(images / f"{i}.jpg")
    shutil.copy(out / "model.onnx", tmp_path / "model.onnx")
    q = quantize(tmp_path / "model.onnx", parse_pass("quantize=int8"), (3, 128, 128), images)
    assert q.warning is None and q.report["calibration"] == {
        "source": str(images), "samples": 3, "normalize": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
    assert q.report["fidelity"]["inputs"] == "calibration images" and q.report["fidelity"]["samples"] == 3


def test_quantizer_failure_is_one_export_error(small_build, tmp_path, monkeypatch):
    import shutil

    from archc.onnx import quantize as q

    def broken(*a):
        raise ValueError("unsupported node\ndetails")

    monkeypatch.setitem(q._QUANTIZERS, "fp16", broken)
    shutil.copy(small_build[1] / "model.onnx", tmp_path / "model.onnx")
    with pytest.raises(ExportError, match="quantize=fp16 failed: ValueError: unsupported node$"):
        q.quantize(tmp_path / "model.onnx", parse_pass("quantize=fp16"), (3, 128, 128))


def test_rebuild_without_quantize_removes_the_old_quantized_model(small_build, tmp_path):
    import shutil

    from archc.fs import atomic_dir

    _, out, _ = small_build  # built with quantize=int8: model.int8.onnx is in the folder's manifest
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "model.fp16.onnx").write_bytes(b"the user's own, not in the manifest")
    with atomic_dir(copy) as tmp:  # a rebuild without quantize
        for name in ("model.onnx", "spec.yaml", "summary.json"):
            shutil.copy(out / name, tmp / name)
    assert not (copy / "model.int8.onnx").exists() and (copy / "model.fp16.onnx").exists()


def test_a_quantized_model_giving_nan_is_refused_in_one_line():
    """LiteRT's dynamic range with per-tensor weights gave NaN on Fast-SCNN: scored, it looked like a model that
    predicts one class. The fidelity check refuses NaN or infinity where float32 is finite, for either runtime."""
    import numpy as np

    from archc.errors import ExportError
    from archc.onnx.quantize import compare

    ref = np.linspace(-1, 1, 2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    good = compare([(ref, ref + 0.01)], 2, "m.int8.onnx")
    assert good["samples"] == 2 and good["argmax_agreement"] == 1.0
    assert abs(good["sqnr_db"] - 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / (ref.size * 1e-4))) < 0.01
    bad = ref.copy()
    bad[0, 0, 0, :3] = np.nan
    bad[1, 2, 3, 3] = np.inf
    with pytest.raises(ExportError) as err:
        compare([(ref, bad)], 2, "m.dynamic.tflite (LiteRT)")
    assert str(err.value).startswith("m.dynamic.tflite (LiteRT): the quantized model gives 4 NaN or infinite values "
                                     "of 96 where float32 gives finite ones") and "\n" not in str(err.value)
