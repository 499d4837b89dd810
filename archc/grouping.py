"""A spec's `grouping:` section: grouped 1x1 convs (ESSNet's DGC) and, with
`shuffle`, a channel shuffle after each (DGCS).

    grouping:
      - {g: 4, shuffle: true, where: gfe}     # where: a selector (archc/select.py); default everywhere

It applies to the built graph, not to the tables, because a block's 1x1 convs
(bottleneck expand/project, DSConv pointwise, fusion) are inside its body and
whether `g` divides their channels is known only once widths are resolved. An
entry groups every dense 1x1 conv it selects whose input and output channels
`g` divides; others are left alone; the final classifier (the conv computing a
network output) is never grouped. Shapes do not change, so nothing downstream
does either. Entries apply in order; a conv grouped once is not grouped again.
The shuffle follows the conv directly (it commutes with the per-channel BN and
activation after it), as node `<conv>.shuffle`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .errors import ArchcError, Mark, SpecError
from .ir import Graph, Node
from .ops import pair
from .select import Selector, check_nodes

WEIGHTED = ("conv", "deconv", "linear")


@dataclass(frozen=True)
class Grouping:
    """A `grouping:` entry: dense 1x1 convs in `where` get `g` groups (ESSNet's DGC), with a
    channel shuffle after each when `shuffle` (DGCS)."""

    g: int
    shuffle: bool = False
    where: str | None = None  # a selector (archc/select.py); None: the whole network
    doc: str | None = None
    mark: Mark | None = field(default=None, compare=False)


def decode_grouping(doc) -> tuple:
    """The `grouping:` section of a schema-checked YAML document."""
    out = []
    for i, g in enumerate(doc.data.get("grouping", [])):
        mark = doc.mark(("grouping", i))
        try:
            where = Selector.parse(g["where"]).text if "where" in g else None
        except ArchcError as exc:
            raise SpecError(f"grouping[{i}]: {exc.message}", doc.mark(("grouping", i, "where"))) from None
        out.append(Grouping(g["g"], g.get("shuffle", False), where, g.get("doc"), mark))
    return tuple(out)


def is_pointwise(node: Node) -> bool:
    """A dense 1x1 convolution: the kind grouping may split."""
    return node.op == "conv" and pair(node.attrs["k"]) == (1, 1) and node.attrs["groups"] == 1


def head_convs(graph: Graph) -> set:
    """The final classifier(s): convs reached from an output through parameter-free single-input ops."""
    heads = set()
    for name in graph.outputs:
        node = graph[name]
        while node.op not in WEIGHTED and len(node.inputs) == 1:
            node = graph[node.inputs[0]]
        if node.op == "conv":
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
