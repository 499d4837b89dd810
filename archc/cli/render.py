"""Everything the CLI shows a person: rich tables, notes and progress bars. The only module that prints."""
from __future__ import annotations

import contextlib
import math
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def _err() -> Console:
    return Console(stderr=True)


def _console() -> Console:
    """A console on the current stdout; piped output (files, CI logs) is wide so names are never cut."""
    return Console(width=None if sys.stdout.isatty() else 200)


def shape(s) -> str:
    return "x".join(map(str, s))


def num(n: int) -> str:
    return f"{n:,}"


def summary(result, layers: bool = True) -> None:
    """A SummaryResult: one row per shown layer, the totals per stage, a closing line (the text comes from
    render_plain, which prints it without rich where the output is no terminal)."""
    from archc.cli.render_plain import summary_tables

    _tables(*summary_tables(result, layers))


def totals(report) -> None:
    from archc.cli.render_plain import totals_tables

    _tables(*totals_tables(report))


def _tables(tables, closing: str) -> None:
    for title, columns, rows in tables:
        t = Table(title=title, show_header=True)
        for col, just in columns:
            t.add_column(col, justify=just)
        for row in rows:
            t.add_row(*row)
        _console().print(t)
    _console().print(closing)


def ops(entries) -> None:
    t = Table(title="ops and blocks")
    for col in ("name", "kind", "parameters", "what it does"):
        t.add_column(col, overflow="fold")
    for name, kind, params, doc in entries:
        t.add_row(name, kind, params, doc)
    _console().print(t)


def message(text: str) -> None:
    """One logical line, never wrapped by rich (a terminal wraps it; a pipe keeps figures whole), printed as it
    is: brackets are text, not rich markup (`archc[litert]` in an install command stays whole)."""
    _console().print(text, highlight=False, soft_wrap=True, markup=False)


def markdown(text: str, raw: bool = False) -> None:
    """Markdown as is (raw, for files) or rendered with tables for the terminal."""
    if raw:
        print(text)
        return
    from rich.markdown import Markdown

    console = _console()
    with console.capture() as captured:
        console.print(Markdown(text))
    print("\n".join(line.rstrip() for line in captured.get().splitlines()))  # rich pads to the full width


def sweep(results, seconds: float, out=None) -> None:
    ok = [r for r in results if r.status == "ok"]
    t = Table(title=f"{len(results)} configurations: {len(ok)} valid, {len(results) - len(ok)} skipped "
                    f"({seconds:.2f} s)")
    timed = any(r.median_ms is not None for r in ok)  # a column only when the sweep was profiled
    predicted = any(r.predicted_ms is not None for r in ok)  # --latency-model
    trained = any(r.miou is not None for r in ok)  # sweep --train
    cols = ("config", "params", "MACs", "activation bytes") + (("median ms",) if timed else ()) + (
        ("predicted ms",) if predicted else ()) + (("mIoU",) if trained else ())
    for col in cols:
        t.add_column(col, justify="left" if col == "config" else "right")
    for r in ok[:40]:
        t.add_row(r.config, num(r.params), num(r.macs), num(r.activation_bytes),
                  *([f"{r.median_ms:.2f}" if r.median_ms is not None else "-"] if timed else []),
                  *([f"{r.predicted_ms:.2f}"] if predicted else []),
                  *([f"{100 * r.miou:.2f}%" if r.miou is not None else "-"] if trained else []))
    if len(ok) > 40:
        t.add_row(f"... {len(ok) - 40} more")
    _console().print(t)
    reasons: dict = {}
    for r in results:
        if r.status != "ok":
            reasons.setdefault(r.reason.split(": ", 1)[-1], []).append(r.config)
    for reason, configs in reasons.items():
        _console().print(f"[yellow]skipped {len(configs)}[/]: {reason}  (e.g. {configs[0]})", highlight=False)
    if out:
        _console().print(f"wrote {out}/results.csv and {out}/results.json")


def notes(lines) -> None:
    """What passes reported, on stderr so that --json stays one object on stdout."""
    for line in lines:
        _err().print(f"note: {line}", highlight=False, soft_wrap=True)


def _delta(n: int, base: int) -> str:
    pct = f" ({n / base:+.1%})" if base else ""
    return f"{n:+,}{pct}" if n else "0"


FIGURES = (("params", "params"), ("macs", "MACs (torchinfo)"), ("macs_attention", "MACs attention"),
           ("macs_total", "MACs total"), ("activation_bytes", "act. bytes"))


def diff(d: dict) -> None:
    """Both sides per stage and in total, with B - A: one row per stage and figure."""
    a, b = d["a"], d["b"]
    label = lambda s: f"{s['spec']}" + "".join(f" --pass {p}" for p in s["passes"])  # noqa: E731
    t = Table(title=f"A: {label(a)}\nB: {label(b)}")
    for col in ("stage", "figure", "A", "B", "B - A"):
        t.add_column(col, justify="left" if col in ("stage", "figure") else "right")
    rows = d["stages"] + [{"stage": "total", "a": a, "b": b, "delta": d["delta"]}]
    for s in rows:
        for k, (key, head) in enumerate(FIGURES):
            va, vb = (s["a"] or {}).get(key), (s["b"] or {}).get(key)
            t.add_row(s["stage"] if k == 0 else "", head, num(va) if va is not None else "-",
                      num(vb) if vb is not None else "-", _delta(s["delta"][key], va or 0),
                      end_section=k == len(FIGURES) - 1)
    _console().print(t)
    _console().print(f"A: input {shape(a['input'])} -> {', '.join(shape(o) for o in a['outputs'])}   "
                  f"B: input {shape(b['input'])} -> {', '.join(shape(o) for o in b['outputs'])}", highlight=False)


def passes(entries) -> None:
    """The pass registry: name and arguments, what it does and how to write it."""
    t = Table(title="passes (--pass NAME=VALUE[,KEY=VALUE...] or a recipe file)", show_lines=True)
    t.add_column("name", no_wrap=True)
    t.add_column("arguments")
    t.add_column("what it does", overflow="fold", ratio=1)
    for name, args, doc, usage in entries:
        t.add_row(name, args.replace(", ", "\n"), f"{doc}\n[dim]{usage}[/dim]")
    _console().print(t)


def warning(text: str) -> None:
    _err().print(f"archc: warning: {text}", highlight=False, markup=False, soft_wrap=True)


@contextlib.contextmanager
def progress(total: int, label: str):
    """Yields step(text="", advance=1). On a terminal: a transient rich bar on stderr. Elsewhere (CI
    logs, `| tee`): one plain stderr line per step that names what finished, and about ten lines for
    steps that name nothing (timing rounds)."""
    if _err().is_terminal:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=_err(), transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda text="", advance=1: bar.update(task, advance=advance,
                                                        description=f"{label}: {text}" if text else label)
        return
    yield _plain_steps(total, label)


def _plain_steps(total: int, label: str):
    start, done, every = time.perf_counter(), [0], max(1, math.ceil(total / 10))

    def step(text: str = "", advance: int = 1) -> None:
        before, done[0] = done[0], done[0] + advance
        if text or done[0] == total or done[0] // every > before // every:
            print(f"{label} {done[0]}/{total} ({time.perf_counter() - start:.1f} s)" + (f": {text}" if text else ""),
                  file=sys.stderr, flush=True)

    return step


def build(summary: dict, out) -> None:
    """What `archc build` wrote and what it checked."""
    if "tflite" in summary:
        from archc.cli.render_litert import built

        built(summary["tflite"], out)
    if "onnx" not in summary:  # --format tflite
        return _build_tail(summary, out)
    o, v = summary["onnx"], summary["verify"]
    simplified = (f"{o['nodes']} after {o.get('simplifier', 'onnxsim')}" if o["simplified"]
                  else f"kept unsimplified ({o['simplify_note']})")
    message(f"{out}/model.onnx: {o['bytes'] / 1e6:,.2f} MB, {o['nodes_exported']} ONNX nodes exported, {simplified}; "
            f"onnx.checker ok; ONNX Runtime vs PyTorch max abs diff {v['max_abs_diff']:.2g} (<= {v['tolerance']:.3g})")
    if "quantize" in summary:
        quantized(summary["quantize"], out)
    _build_tail(summary, out)


def _build_tail(summary: dict, out) -> None:
    if "profile" in summary:
        profiles(summary["profile"])
    for text in summary.get("warnings", []):
        warning(text)
    message(f"wrote {out}/spec.yaml, {out}/summary.json")


def quantized(q: dict, out) -> None:
    f = q["fidelity"]
    parts = [f"{out}/{q['file']}: {q['bytes'] / 1e6:,.2f} MB ({q['size_ratio']:.2f}x smaller)"]
    if "latency" in q:
        lat = q["latency"]
        parts.append(f"{lat['speedup']:.2f}x faster in ONNX Runtime ({lat['threads']} thread(s), median of "
                     f"{lat['runs']} interleaved runs: {lat['float32_median_ms']:.2f} -> "
                     f"{lat[q['mode'] + '_median_ms']:.2f} ms)")
    sqnr = "inf" if f["sqnr_db"] is None else f"{f['sqnr_db']:.1f}"
    agree = "" if f["argmax_agreement"] is None else f", argmax agreement {f['argmax_agreement']:.2%}"
    parts.append(f"vs float32 on {f['samples']} {f['inputs']} inputs: SQNR {sqnr} dB, "
                 f"max abs diff {f['max_abs_diff']:.3g}{agree}")
    message("; ".join(parts))


def profiles(results: list) -> None:
    r0 = results[0]
    threads = f"{r0['threads']} thread" + ("s" if r0["threads"] > 1 else "")
    t = Table(title=f"latency in ms: input {shape(r0['input'])}, {threads}, {r0['runs']} runs after "
                    f"{r0['warmup']} warmup" + (", interleaved" if len(results) > 1 else ""))
    for col in ("model", "runtime", "median", "p90", "mean", "std", "fps"):
        t.add_column(col, justify="left" if col in ("model", "runtime") else "right")
    for r in results:
        t.add_row(r["model"], r["runtime"], f"{r['median_ms']:.3f}", f"{r['p90_ms']:.3f}", f"{r['mean_ms']:.3f}",
                  f"{r['std_ms']:.3f}", f"{r['fps']:.1f}")
    _console().print(t)


def op_detail(entry: dict) -> None:
    """One op or block in full (archc.app.ops' detail): what it does, its parameters with defaults and
    choices, an example."""
    console = _console()
    console.print(f"[b]{entry['name']}[/b] ({entry['kind']}): {entry['doc']}", highlight=False)
    t = Table(title="parameters")
    for col in ("name", "type", "default", "choices / aliases", "meaning"):
        t.add_column(col, overflow="fold")
    for row in entry["params"]:
        t.add_row(*row)
    console.print(t if entry["params"] else "parameters: none")
    console.print(f"inputs: {entry['inputs']}", highlight=False)
    for step in entry["body"]:
        console.print(f"  - {step}", highlight=False, markup=False)
    if entry["example"]:
        console.print(f"example: {entry['example']}", highlight=False, markup=False)
