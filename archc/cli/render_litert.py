"""What the LiteRT parts of `archc build` show: the .tflite file, what it takes, its check."""
from __future__ import annotations

from archc.cli.render import message, quantized


def _io(entry: dict) -> str:
    i = entry["input"]
    scale = (f" (scale {i['scale']:.4g}, zero point {i['zero_point']}; archc quantizes float inputs)"
             if "scale" in i else "")
    return f"takes {i['layout']} {i['dtype']} {'x'.join(map(str, i['shape']))}{scale}"


def built(t: dict, out) -> None:
    v = t["verify"]
    message(f"{out}/{t['file']}: {t['bytes'] / 1e6:,.2f} MB, {_io(t)}; LiteRT vs PyTorch max abs diff "
            f"{v['max_abs_diff']:.2g} (<= {v['tolerance']:.3g})")
    if "quantize" in t:
        q = t["quantize"]
        lat = q.get("latency")
        shown = {k: v for k, v in q.items() if k != "latency"}
        quantized(shown, out)
        ms = f"({lat['float32_median_ms']:.2f} -> {lat[q['mode'] + '_median_ms']:.2f} ms)" if lat else ""
        message(f"{out}/{q['file']} {_io(q)}" + (f"; {lat['speedup']:.2f}x the speed of model.tflite in LiteRT "
                                                 f"{ms}"
                                                 if lat else ""))
