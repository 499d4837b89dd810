"""`archc report`'s page: one self-contained HTML file -- its CSS, JavaScript (archc's own, no
library) and SVG inline, its data in a JSON block (`<script id="archc-data" type="application/json">`)
-- that opens with no network, reads on a projector and prints."""
from __future__ import annotations

import json
from html import escape
from importlib import resources

from archc.reports.svg_graph import to_svg
from archc.version import VERSION

SCRIPTS = ("knobs.js", "pareto.js", "compare.js", "report.js")  # report.js last: it calls the others


def _asset(name: str) -> str:
    return resources.files("archc.reports").joinpath("report_template", name).read_text(encoding="utf-8")


def _json_block(data: dict) -> str:
    """The data as JSON that cannot end its <script> element early."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(data: dict, graph, other_graph=None) -> str:
    """The page for `data` (archc.app.report.gather's) with `graph` (and --diff's) drawn in SVG."""
    parts = {"TITLE": escape(data["name"]), "VERSION": escape(VERSION), "CSS": _asset("style.css"),
             "JS": "\n".join(_asset(s) for s in SCRIPTS), "GRAPH": to_svg(graph),
             "OTHER_GRAPH": to_svg(other_graph) if other_graph is not None else "", "DATA": _json_block(data)}
    text = _asset("page.html")
    for key in ("TITLE", "VERSION", "GRAPH", "OTHER_GRAPH", "CSS", "JS", "DATA"):  # DATA last: it is data
        text = text.replace("{{" + key + "}}", parts[key])
    return text
