"""ncnn: pnnx converts the ONNX file (float32 weights, `fp16=0`) to .param/.bin, the `ncnn`
package runs it with fp16/bf16 storage and arithmetic off, so it can match PyTorch to 1e-4."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from archc.errors import ExportError

FP32 = ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic", "use_bf16_storage")


def convert(onnx_path: Path, shape, folder: Path) -> Path:
    """pnnx's binary: model.onnx -> folder/model.ncnn.param + .bin (its other files stay in folder)."""
    import pnnx

    local = folder / "model.onnx"
    local.write_bytes(onnx_path.read_bytes())
    done = subprocess.run([pnnx.EXEC_PATH, str(local), f"inputshape=[1,{','.join(map(str, shape))}]", "fp16=0"],
                          cwd=folder, capture_output=True, text=True, timeout=600)
    param = folder / "model.ncnn.param"
    if done.returncode or not param.exists():
        raise ExportError(f"pnnx could not convert the model to ncnn: {(done.stderr or done.stdout).strip()[-200:]}")
    return param


def missing_layers(param: Path) -> list[str]:
    """Layer types in the .param that this ncnn build lacks (e.g. GatherND)."""
    import ncnn

    types = [line.split()[0] for line in param.read_text().splitlines()[2:] if line.strip()]
    return sorted({t for t in types if ncnn.layer_to_index(t) < 0})


def load(onnx_path: Path, shape, threads: int, folder: Path):
    import ncnn

    param = convert(onnx_path, shape, folder)
    if missing := missing_layers(param):
        raise ExportError(f"ncnn has no {', '.join(missing)} layer, which pnnx made of this model (an adaptive "
                          f"pool with overlapping windows gives GatherND); time it with ORT or OpenVINO")
    net = ncnn.Net()
    net.opt.num_threads = threads
    for flag in FP32:
        setattr(net.opt, flag, False)
    if net.load_param(str(param)) or net.load_model(str(param.with_suffix(".bin"))):
        raise ExportError(f"ncnn cannot load {param.name}")
    ins, outs = net.input_names(), net.output_names()

    def run(x):
        arr = np.ascontiguousarray(x[0])  # ncnn.Mat borrows the buffer: keep it alive through the run
        ex = net.create_extractor()
        ex.input(ins[0], ncnn.Mat(arr))
        return [np.array(ex.extract(name)[1]) for name in outs]

    return run, param.stat().st_size + param.with_suffix(".bin").stat().st_size
