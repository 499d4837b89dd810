"""What the latency commands show: per-layer profiles, runtime benchmarks, latency-model fits."""
from __future__ import annotations

from rich.table import Table

from archc.cli.render import _console, message


def _cells(entry: dict) -> list[str]:
    rate = entry.get("gmacs_per_s")
    return [f"{entry['macs'] / 1e6:,.2f}", f"{entry['ms']:.3f}", f"{entry['share']:.1%}",
            f"{rate:,.1f}" if rate else "-"]


def per_layer(result: dict, top: int = 10) -> None:
    """Per row and per stage (and the costliest layers): MACs, ms, share of time, GMAC/s."""
    title = f"{result['model']} on {result['device']['host']} ({result['device']['cpu']})"
    for key, head in (("rows", "row"), ("stages", "stage")):
        if key in result:
            _table(f"{title}: per {head}", head, result[key])
    costly = sorted(result["layers"], key=lambda l: -l["ms"])[:top]
    _table(f"the {len(costly)} costliest layers", "layer", costly)
    message(f"per-node sum {result['node_sum_ms']:.3f} ms = {result['node_sum_ratio']:.2f}x the end-to-end median "
            f"{result['end_to_end_median_ms']:.3f} ms (the profiler's own cost; shares are of the per-node sum); "
            f"unattributed {result['unattributed_ms']:.3f} ms")


def _table(title: str, head: str, entries: list) -> None:
    t = Table(title=title)
    for col in (head, "MACs (M)", "ms", "share", "GMAC/s"):
        t.add_column(col, justify="left" if col == head else "right")
    for e in entries:
        t.add_row(e["name"], *_cells(e))
    _console().print(t)


def benchmark(rows: list) -> None:
    """One row per runtime; skipped ones say why (not installed: the install command)."""
    ok = next((r for r in rows if r["status"] == "ok"), None)
    title = (f"input {'x'.join(map(str, ok['input']))}, {ok['threads']} thread(s), median of {ok['runs']} "
             f"interleaved runs after {ok['warmup']} warmup") if ok else "benchmark"
    t = Table(title=title)
    for col in ("runtime", "size MB", "median ms", "p90 ms", "max |diff| vs torch", "vs ORT"):
        t.add_column(col, justify="left" if col == "runtime" else "right")
    for r in rows:
        if r["status"] != "ok":
            t.add_row(r["runtime"], "-", "-", "-", "-", "-")
            continue
        quantized = r.get("precision", "float32") != "float32"
        t.add_row(r["runtime"] + (f" {r['precision']}" if quantized else ""),
                  f"{r['bytes'] / 1e6:.2f}" if r["bytes"] else "-", f"{r['median_ms']:.3f}", f"{r['p90_ms']:.3f}",
                  f"{r['max_abs_diff']:.2g}" + (" (vs float32)" if quantized else ""),
                  f"{r['vs_ort']:.2f}x" if r["vs_ort"] else "-")
    _console().print(t)
    for r in rows:
        if r["status"] != "ok":
            message(f"{r['runtime']}: skipped: {r['reason']}")


def fitted(model: dict, out) -> None:
    """The fitted costs per op kind and how well they fit the probes."""
    t = Table(title=f"latency model for {model['device']['host']} ({model['device']['cpu']}, "
                    f"{model['threads']} thread(s)): {len(model['probes'])} probe configurations")
    for col in ("op kind", "ms per layer", "ms per MMAC", "ms per MB moved"):
        t.add_column(col, justify="left" if col == "op kind" else "right")
    for kind, c in model["costs"].items():
        if any(c.values()):
            t.add_row(kind, f"{c['layers']:.4f}", f"{c['macs']:.4f}", f"{c['bytes']:.4f}")
    _console().print(t)
    fit = model["fit"]
    rho = f"{fit['spearman']:.3f}" if fit["spearman"] is not None else "-"
    message(f"end-to-end ms = {model['scale']:.3f} x summed layer ms; on the probes: "
            f"MAPE {fit['mape']:.1%}, Spearman {rho} (held-out accuracy: benchmarks/latency_model.md)")


def _error(q: dict | None) -> str:
    if not q:
        return "-"
    rho = f"{q['spearman']:.3f}" if q.get("spearman") is not None else "-"
    return f"Spearman {rho}, MAPE {q['mape']:.1%}, max {q['max_error']:.1%}"


def measured_fit(model: dict) -> None:
    """A fit on end-to-end measurements: its costs (and roofline ridge) and its own held-out error."""
    on = model["fitted_on"]
    t = Table(title=f"latency model from {on['configurations']} configurations ({on['rows']} rows) of "
                    f"{on['measurements']}")
    t.add_column("cost")
    t.add_column("value", justify="right")
    t.add_column("unit")
    for name, value in model["group_costs"].items():
        t.add_row(name, f"{value:.4g}", model.get("units", {}).get(name, ""))
    _console().print(t)
    fit = model["fit"]
    message(f"leave-one-out: {_error(fit['loo'])} (worst: {fit['loo']['worst']}); 5-fold: {_error(fit['kfold5'])}; "
            f"on the rows themselves: {_error(fit['train'])}")


def devices(rows: list) -> None:
    """One row per shipped device model."""
    t = Table(title="device latency models shipped with archc (--latency-model NAME)")
    for col in ("name", "fitted on", "leave-one-out error"):
        t.add_column(col)
    for r in rows:
        on = r.get("fitted_on", {})
        what = (f"{on.get('configurations')} configurations of {on.get('spec')} ({on.get('rows')} rows): "
                f"{on.get('source', '')}") if on else str(r.get("probes", ""))
        t.add_row(r["name"], what, _error((r.get("fit") or {}).get("loo")))
    _console().print(t)
