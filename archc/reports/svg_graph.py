"""The network drawn as SVG without Graphviz, for `archc report`: one node per block, stages as
framed clusters laid left to right (a long stage wraps into more columns), blocks of one stage
ranked top to bottom by their longest path (parallel blocks side by side), shapes on the edges.
Every node carries `data-row="STAGE.ROW"`, the table row it belongs to."""
from __future__ import annotations

from html import escape

from archc.ir.graph import Graph
from archc.reports.draw import instance

W, H = 156, 50  # a node
GX, GY = 66, 30  # gaps between nodes: room for an edge's shape label
PAD, HEAD = 12, 22  # a cluster's padding and its title's height
MAX_RANKS = 9  # ranks per column before a stage wraps
MAX_WIDTH = 1500  # clusters wrap into another band past this


def _units(graph: Graph) -> tuple[dict, list]:
    units, edges = {}, {}
    for node in graph:
        uid = instance(node)
        u = units.setdefault(uid, {"stage": node.stage or "", "row": f"{node.stage}.{node.row}" if node.stage else "",
                                   "block": node.block or node.op, "out": node.shape})
        u["out"] = node.shape
        for src in node.inputs:
            s = instance(graph[src])
            if s != uid:
                edges[(s, uid)] = graph[src].shape
    return units, [(a, b, s) for (a, b), s in edges.items()]


def _ranks(members: list, edges: list) -> dict:
    """Longest path from the stage's first blocks, within the stage (members are in execution order)."""
    inside, rank = set(members), {}
    preds: dict = {m: [] for m in members}
    for a, b, _ in edges:
        if a in inside and b in inside:
            preds[b].append(a)
    for m in members:
        rank[m] = max((rank[p] + 1 for p in preds[m] if p in rank), default=0)
    return rank


def _place_stage(members: list, edges: list, x0: float, y0: float) -> tuple[dict, float, float]:
    """Positions (uid -> x, y) of a stage's blocks from its top-left corner; its width and height."""
    rank = _ranks(members, edges)
    by_rank: dict = {}
    for m in members:
        by_rank.setdefault(rank[m], []).append(m)
    pos, col_x, widest, tallest = {}, x0 + PAD, 0, 0
    ranks = sorted(by_rank)
    per = -(-len(ranks) // -(-len(ranks) // MAX_RANKS))  # columns of even height
    for start in range(0, len(ranks), per):
        chunk = ranks[start:start + per]
        across = max(len(by_rank[r]) for r in chunk)
        for i, r in enumerate(chunk):
            for j, m in enumerate(by_rank[r]):
                pos[m] = (col_x + j * (W + GX), y0 + HEAD + PAD + i * (H + GY))
        col_x += across * (W + GX)
        tallest = max(tallest, len(chunk))
        widest = col_x - x0
    return pos, widest - GX + PAD, HEAD + 2 * PAD + tallest * (H + GY) - GY


def layout(graph: Graph) -> dict:
    """{'nodes': {uid: unit + x, y}, 'edges': [...], 'clusters': [(stage, x, y, w, h)], 'size': (w, h)}."""
    units, edges = _units(graph)
    stages = list(dict.fromkeys(u["stage"] for u in units.values()))
    pos, clusters, x, y, band_h, width = {}, [], 0.0, 0.0, 0.0, 0.0
    for stage in stages:
        members = [uid for uid, u in units.items() if u["stage"] == stage]
        p, w, h = _place_stage(members, edges, 0, 0)
        if x and x + w > MAX_WIDTH:
            x, y, band_h = 0.0, y + band_h + 2 * GY, 0.0
        pos.update({m: (px + x, py + y, y) for m, (px, py) in p.items()})
        clusters.append((stage, x, y, w, h))
        x, band_h, width = x + w + GX, max(band_h, h), max(width, x + w)
    nodes = {uid: {**u, "x": pos[uid][0], "y": pos[uid][1], "band": pos[uid][2]} for uid, u in units.items()}
    return {"nodes": nodes, "edges": edges, "clusters": clusters, "size": (width, y + band_h)}


def _shape(s) -> str:
    return "x".join(map(str, s))


def _edge(a: dict, b: dict, shape) -> str:
    """Down a column: straight, the shape beside it; to a column on the right: from side to side, the
    shape where it leaves; anything else: a curve from bottom to top."""
    sx, sy, tx, ty = a["x"] + W / 2, a["y"] + H, b["x"] + W / 2, b["y"]
    if ty > sy and abs(sx - tx) < 1:
        path, label = f"M{sx:.0f},{sy:.0f}V{ty:.0f}", f'x="{sx + 5:.0f}" y="{(sy + ty) / 2 + 4:.0f}"'
    elif b["x"] - (a["x"] + W) > W and a["band"] == b["band"]:  # over other columns: along a lane above them
        sx, sy, tx, ty, lane = a["x"] + W, a["y"] + H / 2, b["x"], b["y"] + H / 2, a["band"] + HEAD + 6
        path = (f"M{sx:.0f},{sy:.0f}H{sx + GX / 2:.0f}V{lane:.0f}H{tx - GX / 2 + 6:.0f}V{ty:.0f}"
                f"H{tx:.0f}")
        label = f'x="{sx + 3:.0f}" y="{sy - 4:.0f}"'
    elif b["x"] >= a["x"] + W:
        sx, sy, tx, ty = a["x"] + W, a["y"] + H / 2, b["x"], b["y"] + H / 2
        bend = max(GX / 2, (tx - sx) / 3)
        path = f"M{sx:.0f},{sy:.0f}C{sx + bend:.0f},{sy:.0f} {tx - bend:.0f},{ty:.0f} {tx:.0f},{ty:.0f}"
        label = f'x="{sx + 3:.0f}" y="{sy - 4:.0f}"'
    else:
        bend = max(GY, abs(ty - sy) / 2)
        path = f"M{sx:.0f},{sy:.0f}C{sx:.0f},{sy + bend:.0f} {tx:.0f},{ty - bend:.0f} {tx:.0f},{ty:.0f}"
        label = f'x="{sx + 5:.0f}" y="{sy + 12:.0f}"'  # by its source: edges into one node keep apart
    return (f'<path class="edge" d="{path}" marker-end="url(#arrow)"/>'
            f'<text class="eshape" {label}>{_shape(shape)}</text>')


def _fit(text: str) -> str:
    """A name too long for its box is squeezed into it (bold 12 px: about 7.5 px a character)."""
    return f' textLength="{W - 14}" lengthAdjust="spacingAndGlyphs"' if len(text) * 7.5 > W - 14 else ""


def _node(uid: str, n: dict) -> str:
    title = uid if n["stage"] else "input"
    return (f'<g class="node" data-row="{escape(n["row"])}" tabindex="0"><title>{escape(uid)}: {escape(n["block"])}'
            f' -&gt; {_shape(n["out"])}</title>'
            f'<rect x="{n["x"]:.0f}" y="{n["y"]:.0f}" width="{W}" height="{H}" rx="6"/>'
            f'<text x="{n["x"] + 8:.0f}" y="{n["y"] + 16:.0f}" class="nid"{_fit(title)}>{escape(title)}</text>'
            f'<text x="{n["x"] + 8:.0f}" y="{n["y"] + 31:.0f}">{escape(n["block"] if n["stage"] else "")}</text>'
            f'<text x="{n["x"] + 8:.0f}" y="{n["y"] + 44:.0f}" class="nshape">{_shape(n["out"])}</text></g>')


def to_svg(graph: Graph) -> str:
    """The laid-out graph as one inline <svg> element (styled by the page's CSS)."""
    g = layout(graph)
    w, h = g["size"]
    out = [f'<svg class="graph" viewBox="-4 -4 {w + 8:.0f} {h + 8:.0f}" width="{w + 8:.0f}" '
           f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="the network, block by block">',
           '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" '
           'orient="auto"><path d="M0,0L8,4L0,8z"/></marker></defs>']
    for stage, x, y, cw, ch in g["clusters"]:
        if stage:
            out.append(f'<g class="cluster" data-stage="{escape(stage)}"><rect x="{x:.0f}" y="{y:.0f}" '
                       f'width="{cw:.0f}" height="{ch:.0f}" rx="10"/><text x="{x + PAD:.0f}" y="{y + 16:.0f}">'
                       f'{escape(stage)}</text></g>')
    out += [_edge(g["nodes"][a], g["nodes"][b], s) for a, b, s in g["edges"]]
    out += [_node(uid, n) for uid, n in g["nodes"].items()]
    return "\n".join(out) + "\n</svg>"
