"""Graph pictures: DOT and mermaid text from the IR; PNG/SVG through Graphviz's
`dot` when it is installed. Stages are clusters; blocks are one node each
(collapsed) or clusters of their primitives (expanded); edges carry shapes."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from archc.ir.analysis import analyze
from archc.errors import ArchcError
from archc.ir.graph import Graph
from archc.ops import OPS
from archc.reports.labels import COLORS, describe, kind


def _shape(s) -> str:
    return "x".join(map(str, s))


def instance(node) -> str:
    """The block instance a node belongs to: stage.row.repeat (or the node itself)."""
    return f"{node.stage}.{node.row}.{node.repeat}" if node.stage else node.name


def _units(graph: Graph, expand: bool) -> tuple[dict, list]:
    """Drawn units (id -> info) and edges (src, dst, shape), in execution order."""
    macs = {l.name: l.macs for l in analyze(graph).layers}
    units, edges = {}, {}
    for node in graph:
        uid = node.name if expand else instance(node)
        u = units.setdefault(uid, {"stage": node.stage, "block": node.block if not expand else node.op,
                                   "group": instance(node), "out": node.shape, "macs": 0, "op": node.op})
        if expand:  # what the primitive is: 'dw conv 3x3 /2  32→32', and its colour class
            ins = [graph[s].shape for s in node.inputs]
            u["what"], u["kind"] = describe(node.op, node.attrs, ins, node.shape), kind(node.op, node.attrs, ins)
        u["out"], u["macs"] = node.shape, u["macs"] + macs.get(node.name, 0)
        for src in node.inputs:
            s = src if expand else instance(graph[src])
            if s != uid:
                edges[(s, uid)] = graph[src].shape
    return units, [(a, b, shape) for (a, b), shape in edges.items()]


def _label(uid, u, expand) -> str:
    if OPS[u["op"]].inputs == "0":  # a graph input: its name and shape
        return f"input\\n{_shape(u['out'])}"
    if expand:  # the path inside its block, what it is, its output
        head = uid[len(u["group"]) + 1:] if uid.startswith(u["group"] + ".") else uid
        return f"{head}\\n{u['what']}\\n{_shape(u['out'])}"
    return f"{uid}\\n{u['block']}\\n{_shape(u['out'])}" + (f"\\n{u['macs'] / 1e6:.2f} M MACs" if u["macs"] else "")


def _dot_id(uid: str) -> str:
    return '"' + uid.replace('"', "'") + '"'


def _fill(u: dict, expand: bool) -> str:
    """Expanded: conv kinds apart by colour (dense blue, depthwise orange, pointwise green, grouped violet)."""
    return f', style="rounded,filled", fillcolor="{COLORS[u["kind"]]}"' if expand else ""


def to_dot(graph: Graph, expand: bool = False) -> str:
    units, edges = _units(graph, expand)
    page = " newrank=true; nodesep=0.15; ranksep=0.3;" if expand else ""
    lines = [f"digraph {_dot_id(graph.name)} {{", f"  rankdir=TB;{page} node [shape=box, style=rounded, fontsize=10];",
             "  edge [fontsize=8];"]
    for stage in dict.fromkeys(u["stage"] for u in units.values()):
        members = [uid for uid, u in units.items() if u["stage"] == stage]
        if stage:
            lines.append(f'  subgraph "cluster_{stage}" {{ label="{stage}"; style=dashed;')
        groups = dict.fromkeys(units[m]["group"] for m in members) if expand else {None: None}
        for group in groups:
            inner = [m for m in members if not expand or units[m]["group"] == group]
            sub = expand and stage and len(inner) > 1
            if sub:  # a block's primitives side by side on one rank: the expanded graph fits a page
                lines.append(f'    subgraph "cluster_{group}" {{ label="{group}"; style=dotted; '
                             f'{{ rank=same; {" ".join(_dot_id(m) for m in inner)} }}')
            lines += [f'    {_dot_id(m)} [label="{_label(m, units[m], expand)}"{_fill(units[m], expand)}];'
                      for m in inner]
            if sub:
                lines.append("    }")
        if stage:
            lines.append("  }")
    lines += _dot_edges(units, edges, expand)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_edges(units: dict, edges: list, expand: bool) -> list:
    """Edges with their shapes. Expanded, an edge inside a block is bare (each node shows its output), an
    edge between blocks pulls nothing sideways (weight 0), and each block's first node stands under the
    previous block's (invisible, heavy edges): the blocks stack into a page instead of a staircase."""
    if not expand:
        return [f'  {_dot_id(a)} -> {_dot_id(b)} [label="{_shape(s)}"];' for a, b, s in edges]
    out = []
    for a, b, s in edges:
        inside = units[a]["group"] == units[b]["group"]
        out.append(f'  {_dot_id(a)} -> {_dot_id(b)}' + (";" if inside else f' [label="{_shape(s)}", weight=0];'))
    firsts = list({u["group"]: uid for uid, u in reversed(list(units.items()))}.values())[::-1]
    out += [f"  {_dot_id(a)} -> {_dot_id(b)} [style=invis, weight=20];" for a, b in zip(firsts, firsts[1:])]
    return out


def _mid(uid: str) -> str:
    return "n_" + "".join(ch if ch.isalnum() else "_" for ch in uid)


def to_mermaid(graph: Graph, expand: bool = False) -> str:
    units, edges = _units(graph, expand)
    lines = ["flowchart TB"]
    for stage in dict.fromkeys(u["stage"] for u in units.values()):
        members = [uid for uid, u in units.items() if u["stage"] == stage]
        if stage:
            lines.append(f"  subgraph {stage}")
        lines += [f'    {_mid(m)}["{_label(m, units[m], expand).replace(chr(92) + "n", "<br/>")}"]' for m in members]
        if stage:
            lines.append("  end")
    lines += [f"  {_mid(a)} -->|{_shape(s)}| {_mid(b)}" for a, b, s in edges]
    return "\n".join(lines) + "\n"


def render(dot_text: str, fmt: str, path: Path) -> None:
    """Run Graphviz's `dot` to make a PNG or SVG at `path`."""
    exe = shutil.which("dot")
    if exe is None:
        raise ArchcError(f"--format {fmt} needs Graphviz's `dot` (Debian/Ubuntu: apt-get install graphviz; "
                         f"macOS: brew install graphviz); --format dot or mermaid work without it")
    try:
        done = subprocess.run([exe, f"-T{fmt}", "-o", str(path)], input=dot_text.encode(), capture_output=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        raise ArchcError("Graphviz took more than 120 s; try the collapsed view (without --expand)") from None
    if done.returncode != 0:
        raise ArchcError(f"Graphviz failed: {done.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
