"""Applying a spec's `grouping:` entries to the built graph (see archc.lang.grouping for the section)."""
from __future__ import annotations

from dataclasses import replace

from archc.errors import SpecError
from archc.ir.graph import Graph, Node
from archc.lang.select import Selector, check_nodes
from archc.ops import OPS


def is_pointwise(node: Node) -> bool:
    """A dense 1x1 convolution: the kind grouping may split."""
    return OPS[node.op].groupable(node.attrs)


def head_convs(graph: Graph) -> set:
    """The final classifier(s): convs reached from an output through parameter-free single-input ops."""
    heads = set()
    for name in graph.outputs:
        node = graph[name]
        while not OPS[node.op].weighted and len(node.inputs) == 1:
            node = graph[node.inputs[0]]
        if OPS[node.op].groupable({**node.attrs, "groups": 1}):
            heads.add(node.name)
    return heads


def candidates(graph: Graph, selector: Selector | None) -> list:
    """Dense 1x1 convs `selector` selects, less the final classifier."""
    heads = head_convs(graph)
    return [n for n in graph if is_pointwise(n) and n.name not in heads
            and (selector is None or selector.node_matches(n))]


def fits(graph: Graph, node: Node, g: int) -> bool:
    return graph.shape(node.inputs[0])[0] % g == 0 and node.shape[0] % g == 0


def plan(graph: Graph, entries) -> dict:
    """conv node name -> (groups, shuffle) for every conv the entries group."""
    out: dict = {}
    for entry in entries:
        selector = Selector.parse(entry.where) if entry.where else None
        if selector is not None:
            check_nodes(graph, selector, f"grouping where '{entry.where}'", SpecError, entry.mark)
        for node in candidates(graph, selector):
            if node.name not in out and fits(graph, node, entry.g):
                out[node.name] = (entry.g, entry.shuffle)
    return out


def apply_grouping(graph: Graph, entries) -> Graph:
    """A new graph with the planned convs grouped (and shuffled)."""
    if not entries:
        return graph
    changes = plan(graph, entries)
    out, alias = Graph(graph.name, graph.input_shape), {}
    out.recipe = None  # the builder's record is of the graph before grouping: not one to reshape
    for node in graph:
        node = replace(node, inputs=tuple(alias.get(i, i) for i in node.inputs))
        if node.name not in changes:
            out.add(node)
            continue
        g, shuffle = changes[node.name]
        out.add(replace(node, attrs={**node.attrs, "groups": g}))
        if shuffle:
            name = f"{node.name}.shuffle"
            out.add(replace(node, name=name, op="shuffle", attrs={"groups": g}, inputs=(node.name,),
                            roles=node.roles + ("shuffle",), share=None))
            alias[node.name] = name
    out.outputs = [alias.get(o, o) for o in graph.outputs]
    out.refs = {k: alias.get(v, v) for k, v in graph.refs.items()}
    out.check()
    return out
