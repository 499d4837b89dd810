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


def quantize_report(result: dict, out) -> None:
    """One row per model; a skipped one says why below the table."""
    from rich.table import Table

    from archc.cli.render import _console

    t = result["timing"]
    table = Table(title=f"{result['images']} val images; median of {t['runs']} interleaved runs after {t['warmup']} "
                        f"warmup, {t['threads']} thread(s); changes and differences vs {result['reference']}")
    for col in ("format", "runtime", "size MB", "median ms", "pixel acc", "mIoU", "mIoU change", "max |diff|"):
        table.add_column(col, justify="left" if col in ("format", "runtime") else "right")
    for r in result["rows"]:
        name = r["format"] + (" QAT" if r["weights"] == "qat" else "")
        if r["status"] != "ok":
            table.add_row(name, r["runtime"], *["-"] * 6)
            continue
        table.add_row(name, r["runtime"], f"{r['bytes'] / 1e6:.3f}", f"{r['median_ms']:.3f}",
                      f"{100 * r['pixel_accuracy']:.2f}%", f"{100 * r['miou']:.2f}%", f"{r['miou_change']:+.2f} pt",
                      f"{r['max_abs_diff']:.3g}")
    _console().print(table)
    reasons = sorted({r["reason"] for r in result["rows"] if r["status"] != "ok"})
    for reason in reasons:
        message(f"litert: skipped: {reason}")
    if out is not None:
        message(f"{out}/report.csv, report.json, masks/sheet.png and the models in {out}/models")
