"""The graph IR: primitive ops in execution order (a networkx DiGraph on demand).

Each node carries its op, resolved attributes, inferred output shape and
provenance (stage, row, repeat, block, roles, spec mark). Nodes are named by
their spec path (`gfe.0.1.expand.conv`), the same name used by the torch module,
the summary and ONNX. Passes never touch a Graph: they rewrite the Spec, which
is compiled anew, so a Graph is a value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from archc.errors import GraphError, Mark

if TYPE_CHECKING:
    import networkx as nx

MAX_NODES = 200_000  # the most nodes a build makes


@dataclass(frozen=True)
class Node:
    name: str
    op: str
    attrs: dict
    inputs: tuple
    shape: tuple
    stage: str = ""
    row: str = ""
    repeat: int = 0
    block: str = ""  # the row's op (a block or primitive name)
    roles: tuple = ()  # step ids inside the block, outermost first
    share: str | None = None  # the node whose weights this one reuses
    mark: Mark | None = None
    stride: float | None = 1.0  # cumulative downsampling at this node (None: not spatial)

    @property
    def owner(self) -> str:
        """The name of the module that holds this node's weights."""
        return self.share or self.name


class Graph:
    """Nodes in insertion (= execution) order; edges carry the input position."""

    def __init__(self, name: str, input_shape: tuple):
        self.name = name
        self._g = None  # the networkx view, made when first asked for (building never needs it)
        self.nodes: dict[str, Node] = {}  # the same nodes, in order, for lookups (networkx's are slower)
        self.outputs: list[str] = []
        self.refs: dict[str, str] = {}  # spec names (stage ids, row ids, STAGE.ROW) -> their output node
        self.input_shape = tuple(input_shape)
        self.recipe: list | None = []  # what the builder did, to redo at another input size (ir/reshape.py)

    def add(self, node: Node) -> Node:
        if node.name in self.nodes:
            raise GraphError(f"two nodes are named '{node.name}'; give rows distinct ids", node.mark)
        for i, src in enumerate(node.inputs):
            if src not in self.nodes:
                raise GraphError(f"node '{node.name}' reads '{src}', which does not exist (yet)", node.mark)
        self.nodes[node.name] = node
        self._g = None
        return node

    @property
    def g(self) -> nx.DiGraph:
        """The nodes as a networkx DiGraph (node attribute `node`, edge attribute `index`)."""
        if self._g is None:
            import networkx as nx  # graph algorithms only: building and analysing never need it

            g = nx.DiGraph()
            for node in self.nodes.values():
                g.add_node(node.name, node=node)
                for i, src in enumerate(node.inputs):
                    g.add_edge(src, node.name, index=i)
            self._g = g
        return self._g

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def __contains__(self, name: str) -> bool:
        return name in self.nodes

    def __iter__(self):
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def consumers(self, name: str) -> list[str]:
        return list(self.g.successors(name))

    def shape(self, name: str) -> tuple:
        return self.nodes[name].shape

    def shapes(self) -> dict:
        """Every node's output shape, by name (in order)."""
        return {name: node.shape for name, node in self.nodes.items()}

    def totals(self):
        """(params, MACs, activation bytes) when known without a walk over the layers, else None."""
        return None

    def weights_like(self):
        """A graph whose every layer uses as many parameters as this one's of the same name, or None
        (a reshaped graph whose channel counts and weighted layers' attributes are its source's)."""
        return None

    def structure(self):
        """The nodes in order, for their op, attributes, inputs and provenance (a reshaped graph may
        give its source's nodes, which carry another size's shapes: take shapes from `shapes()`)."""
        return self.nodes.values()

    def total_stride(self) -> int:
        strides = [n.stride for n in self if n.stride is not None]
        return int(round(max(strides))) if strides else 1

    def check(self) -> None:
        """Structural invariants: inputs precede consumers (so no cycle), outputs exist."""
        order = {name: i for i, name in enumerate(self.nodes)}
        for node in self:
            for src in node.inputs:
                if order[src] >= order[node.name]:
                    import networkx as nx

                    if not nx.is_directed_acyclic_graph(self.g):
                        raise GraphError(f"graph '{self.name}' has a cycle")
                    raise GraphError(f"node '{node.name}' runs before its input '{src}'")
            if node.share and node.share not in self.nodes:
                raise GraphError(f"node '{node.name}' shares weights with missing '{node.share}'")
        for out in self.outputs:
            if out not in self.nodes:
                raise GraphError(f"output '{out}' is not a node")

    def signature(self) -> list:
        """A comparable description of the whole graph (for round-trip tests)."""
        return [(n.name, n.op, sorted(n.attrs.items(), key=str), n.inputs, n.shape, n.share)
                for n in self] + [("outputs", tuple(self.outputs))]


def unpadded(graph) -> bool:
    """A network that crops one map to another's size (the paper's U-Net): its unpadded windows shrink the
    maps, so its input sizes are not multiples of the total stride, and each pooling is checked instead."""
    from archc.ops import OPS

    return any(OPS[node.op].crops for node in graph.structure())


def _check_windows(graph, spec) -> None:
    """Every strided window of an unpadded network sees a map its stride divides (no row or column dropped)."""
    from archc.ops import OPS

    c, h, w = spec.input
    for node in graph.structure():
        factor = OPS[node.op].stride(node.attrs) if node.inputs else None
        shape = graph.shape(node.inputs[0]) if factor and factor > 1 else ()
        if len(shape) == 3 and (shape[1] % factor or shape[2] % factor):
            raise GraphError(f"input {c}x{h}x{w}: '{node.name}' ({node.op} /{factor:g}) sees a {shape[1]}x{shape[2]} "
                             f"map that {factor:g} does not divide (an unpadded network: each pooling is checked)",
                             spec.input_mark)


def _crops(spec) -> bool:
    """`spec` writes a crop (in a row or a block's body): asked of a build that stopped before reaching it."""
    from archc.ops import OPS

    names = [row.op for st in spec.stages for row in st.rows]
    names += [_row_op(r) for b in spec.blocks.values() if isinstance(b, dict) for r in b.get("body") or ()]
    return any(name in OPS and OPS[name].crops for name in names if isinstance(name, str))


def _row_op(row):
    """The op a block's body row names: `{op: ...}` or a table row's first column."""
    return row.get("op") if isinstance(row, dict) else row[0] if isinstance(row, list) and row else None


def check_input_stride(graph: Graph, spec, partial: bool = False) -> None:
    """`spec`'s input H and W are multiples of the network's total stride (of the nodes built so far, `partial`
    when the build stopped early); in an unpadded network (one that crops), every strided window sees a map
    its stride divides."""
    if unpadded(graph) or (partial and _crops(spec)):
        return _check_windows(graph, spec)
    total = graph.total_stride()
    c, h, w = spec.input
    if total > 1 and (h % total or w % total):
        bad = h if h % total else w
        lo, hi = bad // total * total, (bad // total + 1) * total
        near = f"{lo} or {hi}" if lo else f"{hi}"
        raise GraphError(f"input {c}x{h}x{w}: {bad} is not divisible by the network's total stride "
                         f"{total}; use {near}", spec.input_mark) from None
