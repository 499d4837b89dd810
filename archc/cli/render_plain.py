"""`archc summary`'s tables written out without rich (whose import and layout cost ~0.1 s CPU of a cold
`summary`), for output that is not a terminal: the same text rich prints there, character for character
(tests/test_render_plain.py compares the two on every bundled spec). Where rich could print anything else
(colour forced, a non-UTF-8 stream, markup or emoji codes in a cell, a table wider than the page), `summary`
returns False and render.py prints with rich."""
from __future__ import annotations

import os
import sys

WIDTH = 200  # render._console's width for output that is not a terminal
_RICH_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS")
# rich's HEAVY_HEAD box: top, header row, header/body rule, body row, bottom (left, line, cross, right)
_TOP, _HEAD, _RULE, _ROW, _BOTTOM = "┏━┳┓", "┃ ┃┃", "┡━╇┩", "│ ││", "└─┴┘"


def plain_stdout() -> bool:
    """Whether rich would print to stdout as plain text: not a terminal, UTF-8, no colour forced."""
    encoding = (getattr(sys.stdout, "encoding", "utf-8") or "utf-8").lower()  # as rich reads it
    return (not sys.stdout.isatty() and encoding.startswith("utf") and "IPython" not in sys.modules
            and not any(os.environ.get(name) for name in _RICH_ENV))


def _cell(text: str) -> str | None:
    """The text rich shows for a cell, or None where rich might show other text (markup, emoji, wide
    characters); a leading `[b]` (bold, invisible in plain text) is the one markup known."""
    text = text[3:] if text.startswith("[b]") else text
    return text if text.isascii() and text.isprintable() and "[" not in text and ":" not in text else None


def table(title: str | None, columns, rows) -> str | None:
    """rich's Table(title=...) with columns [(name, 'left'|'right')] and rows of str, or None."""
    cells = [[_cell(c) for c in row] for row in [[name for name, _ in columns], *rows]]
    if any(c is None for row in cells for c in row) or (title is not None and _cell(title) is None):
        return None
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    total = sum(widths) + 3 * len(widths) + 1
    if total > WIDTH or (title is not None and len(title) > total):
        return None

    def line(box: str, texts=None) -> str:
        parts = [box[1] * (w + 2) if texts is None else
                 f" {t.ljust(w) if just == 'left' else t.rjust(w)} "
                 for t, w, (_, just) in zip(texts or widths, widths, columns)]
        return box[0] + box[2].join(parts) + box[3]

    out = []
    if title is not None:
        left = (total - len(title)) // 2
        out.append(" " * left + title + " " * (total - len(title) - left))
    out += [line(_TOP), line(_HEAD, cells[0]), line(_RULE), *(line(_ROW, row) for row in cells[1:]), line(_BOTTOM)]
    return "\n".join(out)


def _shape(s) -> str:
    return "x".join(map(str, s))


def summary_tables(result, layers: bool = True) -> tuple[list, str]:
    """What `archc summary` prints: [(title, [(column, justify)], rows)] and the closing line."""
    report = result.report
    if not layers:
        return totals_tables(report)
    columns = [("layer", "left"), ("op", "left"), ("in", "right"), ("out", "right"), ("params", "right"),
               ("MACs", "right")]
    rows = []
    for l in result.shown_layers:
        extra = report.attention.get(l.name)
        rows.append([l.name, l.op, ", ".join(_shape(s) for s in l.inputs), _shape(l.out),
                     f"{l.params:,}" if not l.share else f"(= {l.share})",
                     f"{l.macs:,}" if extra is None else f"({extra:,} attention)"])
    tables, closing = totals_tables(report)
    return [(f"{report.name}  input {_shape(report.input)}", columns, rows), *tables], closing


def totals_tables(report) -> tuple[list, str]:
    """The per-stage table and the closing line of totals."""
    rows = [[name, f"{s['params']:,}", f"{s['macs']:,}", f"{s['activation_bytes']:,}"]
            for name, s in report.stages().items()]
    rows.append(["[b]total", f"[b]{report.params:,}", f"[b]{report.macs:,}", f"[b]{report.activation_bytes:,}"])
    if report.macs_attention:
        rows += [["attention MACs", "", f"{report.macs_attention:,}", ""],
                 ["[b]MACs total", "", f"[b]{report.macs_total:,}", ""]]
    columns = [(c, "left" if c == "stage" else "right") for c in ("stage", "params", "MACs", "activation bytes")]
    extra = (f" (torchinfo's) + attention {report.macs_attention / 1e6:,.2f} M = total {report.macs_total / 1e6:,.2f} M"
             if report.macs_attention else "")
    return [("per stage" if report.layers else None, columns, rows)], (
        f"outputs: {', '.join(_shape(s) for s in report.outputs)}   params {report.params:,}   "
        f"MACs {report.macs / 1e6:,.2f} M{extra}   fwd/bwd pass {report.activation_bytes / 1e6:,.2f} MB")


def summary(result, layers: bool = True) -> bool:
    """Print the summary as rich would print it here; False (nothing printed) where only rich can."""
    if not plain_stdout():
        return False
    tables, closing = summary_tables(result, layers)
    texts = [table(*t) for t in tables]
    if None in texts or len(closing) > WIDTH or not closing.isascii() or "[" in closing or closing.count(":") > 1:
        return False
    print("\n".join([*texts, closing]))
    return True
