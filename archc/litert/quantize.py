"""The quantize pass for LiteRT: the verified fp32 .tflite -> fp16 (fp16 weights, float compute),
dynamic (int8 weights, activations quantized on the fly) or int8 (int8 weights and activations,
ranges from calibration inputs normalized as the spec says) through ai-edge-quantizer, with the
same fidelity figures as the ONNX variants (max diff, SQNR, argmax agreement against fp32)."""
from __future__ import annotations

from pathlib import Path

from archc.errors import ExportError
from archc.litert import require
from archc.litert.compact import compact
from archc.onnx import calib, runtime
from archc.onnx.quantize import FIDELITY_SAMPLES, FIDELITY_SEED, compare


def _recipe(mode: str, per_channel: bool = True):
    """ai-edge-quantizer's recipe: int8 (int8 weights and activations) with one weight scale per output
    channel, or per tensor (per_channel=false); dynamic always per channel (LiteRT's hybrid kernels gave NaN
    outputs with per-tensor weights: benchmarks/qat.md); fp16 casts the weights."""
    from ai_edge_quantizer import qtyping, recipe, recipe_manager

    if mode == "dynamic":
        return recipe.dynamic_wi8_afp32()
    if mode == "int8" and per_channel:
        return recipe.static_wi8_ai8()
    manager, every = recipe_manager.RecipeManager(), qtyping.TFLOperationName.ALL_SUPPORTED
    tensorwise = qtyping.QuantGranularity.TENSORWISE
    if mode == "int8":
        manager.add_static_config(regex=".*", operation_name=every, activation_num_bits=8, weight_num_bits=8,
                                  weight_granularity=tensorwise)
    else:  # fp16: weights cast to float16, dequantized before each op
        manager.add_weight_only_config(regex=".*", operation_name=every, num_bits=16, granularity=tensorwise,
                                       algorithm_key=recipe.AlgorithmName.FLOAT_CASTING)
    return manager.get_quantization_recipe()


def quantize(fp32_path: Path, qpass, shape, calib_dir=None, normalize=None) -> tuple[Path, dict, str | None]:
    """Write `model.<mode>.tflite` beside `fp32_path`: (path, report, warning or None)."""
    require("ai_edge_quantizer", what=f"quantize={qpass.mode} for LiteRT")
    from archc.litert.interpreter import Model, quiet_fd
    from archc.onnx.export import quiet

    out = fp32_path.with_name(f"{fp32_path.stem}.{qpass.mode}.tflite")
    data = calib.Calibration(shape, calib_dir, qpass.samples, normalize) if qpass.mode == "int8" else None
    try:
        with quiet(), quiet_fd():
            _run(fp32_path, out, _recipe(qpass.mode, qpass.per_channel), data)
    except Exception as exc:  # the quantizer raises many types
        text = str(exc).strip()
        raise ExportError(f"LiteRT quantize={qpass.mode} failed: {type(exc).__name__}: "
                          f"{text.splitlines()[0][:200] if text else 'no message'}") from None
    real = data is not None and data.real
    xs = data.arrays if real else runtime.inputs(shape, FIDELITY_SAMPLES, FIDELITY_SEED)
    report = {"mode": qpass.mode, "file": out.name, "bytes": out.stat().st_size, "quantizer": "ai-edge-quantizer",
              "size_ratio": round(fp32_path.stat().st_size / out.stat().st_size, 3),
              "fidelity": {**fidelity(Model(fp32_path), Model(out), xs),
                           "inputs": "calibration images" if real else "synthetic"}}
    if data is not None:
        report["calibration"] = {"source": data.source, "samples": data.count}
        if real:
            report["calibration"]["normalize"] = {"mean": list(data.normalize[0]), "std": list(data.normalize[1])}
    return out, report, data.warning if data is not None else None


def _run(src: Path, dst: Path, recipe, data) -> None:
    from ai_edge_quantizer import quantizer

    q = quantizer.Quantizer(str(src), recipe)
    result = None
    if data is not None:
        signature = next(iter(_signatures(src)))
        name = _signatures(src)[signature][0]
        result = q.calibrate({signature: [{name: a} for a in data.arrays]})
    q.quantize(result).export_model(str(dst), overwrite=True)
    compact(dst)


def _signatures(path: Path) -> dict:
    from archc.litert.interpreter import Model

    sigs = Model(path).interp.get_signature_list()
    return {k: v["inputs"] for k, v in sigs.items()}


def fidelity(ref, q, xs) -> dict:
    """Max abs diff, SQNR (dB) and argmax agreement of `q`'s outputs against `ref`'s (interpreter.Model)."""
    return compare([(r, o) for x in xs for r, o in zip(ref.run(x), q.run(x))], len(xs),
                   f"{Path(q.path).name} (LiteRT)")
