"""The quantize pass's stage: float32 ONNX -> int8 (static QDQ), dynamic or fp16 ONNX,
with its size and fidelity against float32 (imports onnxruntime)."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archc.onnx import calib
from archc.onnx.compact import compact

from archc.onnx import runtime
from archc.onnx.export import quiet
from archc.errors import ExportError

FIDELITY_SAMPLES = 16  # a classifier gives one prediction per input
FIDELITY_SEED = 2  # not the calibration seed: fidelity is measured on inputs int8 was not fitted to


@dataclass
class Quantized:
    path: Path
    report: dict
    warning: str | None  # e.g. synthetic calibration


def quantize(model_path: Path, qpass, shape, calib_dir=None, normalize=None) -> Quantized:
    """Write `model.<mode>.onnx` beside `model_path` and measure its fidelity against float32 (its
    latency is measure.profile.latency's, a stage above); `normalize`: the spec's (mean, std) for
    calibration images (None: ImageNet's)."""
    out = model_path.with_name(f"{model_path.stem}.{qpass.mode}.onnx")
    data = calib.Calibration(shape, calib_dir, qpass.samples, normalize) if qpass.mode == "int8" else None
    _run(qpass, model_path, out, data)
    report = {"mode": qpass.mode, "file": out.name, "bytes": out.stat().st_size,
              "size_ratio": round(model_path.stat().st_size / out.stat().st_size, 3)}
    if data is not None:
        report["calibration"] = {"source": data.source, "samples": data.count}
        if data.real:  # images are normalized as the model expects them; synthetic inputs already are
            report["calibration"]["normalize"] = {"mean": list(data.normalize[0]), "std": list(data.normalize[1])}
        report.update(weights="int8", activations=qpass.act, per_channel=qpass.per_channel, format="QDQ",
                      reduce_range=qpass.reduce_range)
    real = data is not None and data.real  # real images say more than synthetic inputs
    report["fidelity"] = fidelity(model_path, out, data.arrays if real else
                                  runtime.inputs(shape, FIDELITY_SAMPLES, FIDELITY_SEED))
    report["fidelity"]["inputs"] = "calibration images" if real else "synthetic"
    return Quantized(out, report, data.warning if data is not None else None)


def _run(qpass, src: Path, dst: Path, data) -> None:
    try:
        with quiet():
            _QUANTIZERS[qpass.mode](src, dst, qpass, data)
    except ExportError:
        raise
    except Exception as exc:  # the ORT quantization tools raise many types
        text = str(exc).strip()
        raise ExportError(f"quantize={qpass.mode} failed: {type(exc).__name__}: "
                          f"{text.splitlines()[0] if text else 'no message'}") from exc


def _int8(src, dst, qpass, data) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    act = QuantType.QUInt8 if qpass.act == "uint8" else QuantType.QInt8
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)  # shapes and fusions it expects
        quantize_static(str(pre), str(dst), data.reader(), quant_format=QuantFormat.QDQ, per_channel=qpass.per_channel,
                        activation_type=act, weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                        reduce_range=qpass.reduce_range)
    compact(dst)  # the same model, smaller: archc/onnx/compact.py


def _dynamic(src, dst, qpass, data) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # ConvInteger, which dynamic quantization emits for convs, takes uint8 weights only in ORT's CPU kernels
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QUInt8, per_channel=qpass.per_channel)


def _fp16(src, dst, qpass, data) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)  # float32 in and out, as before
    onnx.save_model(model, str(dst), save_as_external_data=False)


_QUANTIZERS = {"int8": _int8, "dynamic": _dynamic, "fp16": _fp16}


def fidelity(ref_path, q_path, xs) -> dict:
    """Max abs diff, SQNR (dB) and argmax agreement of the quantized model's outputs vs float32."""
    ref_sess, q_sess = runtime.session(ref_path), runtime.session(q_path)
    return compare([(r, q) for x in xs for r, q in zip(runtime.run_ort(ref_sess, x), runtime.run_ort(q_sess, x))],
                   len(xs), f"{Path(q_path).name} (ONNX Runtime)")


def compare(pairs: list, samples: int, name: str) -> dict:
    """Fidelity of a quantized model from (float32 output, quantized output) pairs of `samples` inputs (ONNX
    Runtime's and LiteRT's alike). A quantized model that gives NaN or infinite values where float32 gives
    finite ones is refused: its scores would be those of a constant map (LiteRT's dynamic range with
    per-tensor weights did so on Fast-SCNN) and nothing else would say why."""
    ref = np.concatenate([r.ravel() for r, _ in pairs]).astype(np.float64)
    got = np.concatenate([q.ravel() for _, q in pairs]).astype(np.float64)
    broken = int(np.count_nonzero(~np.isfinite(got) & np.isfinite(ref)))
    if broken:
        raise ExportError(f"{name}: the quantized model gives {broken:,} NaN or infinite values of {got.size:,} "
                          f"where float32 gives finite ones; quantize with other settings (e.g. per_channel=true) "
                          f"or another mode")
    err = ref - got
    noise = float(np.sum(err ** 2))
    sqnr = 10 * np.log10(float(np.sum(ref ** 2)) / noise) if noise > 0 else None  # None: identical
    agree = [a for a in (_agreement(r, q) for r, q in pairs) if a is not None]
    return {"max_abs_diff": float(np.max(np.abs(err))), "sqnr_db": None if sqnr is None else round(float(sqnr), 2),
            "argmax_agreement": round(float(np.mean(agree)), 5) if agree else None, "samples": samples,
            "agreement_rule": _rule(pairs[0][0]) if pairs else None}


def _rule(ref: np.ndarray) -> str | None:
    """How `argmax_agreement` decides a pixel's class: one channel is a sigmoid, never an argmax."""
    if ref.ndim not in (2, 4):
        return None
    return "sigmoid > 0.5" if ref.shape[1] == 1 else "argmax"


def _agreement(ref: np.ndarray, q: np.ndarray) -> float | None:
    """Fraction of pixels (or images) whose predicted class matches: argmax over channels,
    or the sign of the logit for a one-class mask."""
    if ref.ndim not in (2, 4):
        return None
    if ref.shape[1] == 1:
        return float(np.mean((ref > 0) == (q > 0)))
    return float(np.mean(ref.argmax(1) == q.argmax(1)))
