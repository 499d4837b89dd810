from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from archc.errors import PassError
from archc.ir.grouping import candidates, fits
from archc.lang.grouping import Grouping
from archc.ops import OPS
from archc.lang.select import check_nodes
from archc.lang.spec import Spec
from . import Pass, register, selector
from archc.passes import GraphOf

LISTED = 6  # convs named in a note before "and N more"


@register
@dataclass(frozen=True)
class GroupsPass(Pass):
    """Grouped 1x1 convs (ESSNet's DGC; with shuffle, DGCS).

    Every dense 1x1 conv
    (in `where`, default everywhere) whose input and output channels `g` divides
    gets `g` groups, and with shuffle a channel shuffle after it. Convs `g` does
    not divide are left alone and listed; the final classifier is never grouped.
    Written back as a `grouping:` entry of the spec (see archc/grouping.py).

        --pass groups=4,shuffle=true  recipe: - groups: {g: 4, shuffle: true}
        --pass groups=2,where=role:pointwise
    """

    name = "groups"
    g: int
    shuffle: bool = False
    where: Optional[str] = None  # a selector: stage id, row id, STAGE.ROW, role:NAME, op:NAME

    def __post_init__(self):
        if self.g < 2:
            raise PassError(f"pass 'groups': g={self.g} must be >= 2 (1 group is a dense conv), e.g. groups=2")
        selector(self.name, self.where)

    def apply(self, spec: Spec, graph_of: GraphOf) -> Spec:
        graph, sel = graph_of(spec), selector(self.name, self.where)
        if sel is not None:
            check_nodes(graph, sel, f"where={self.where}")
        pool = candidates(graph, sel)
        where = f" in {self.where}" if self.where else ""
        if not pool:
            done = any(OPS[n.op].grouped(n.attrs) and (sel is None or sel.node_matches(n)) for n in graph)
            raise PassError(f"no dense 1x1 conv{where} to group ("
                            + ("the ones there are grouped already" if done else "the final classifier never is")
                            + ")")
        if not any(fits(graph, n, self.g) for n in pool):
            raise PassError(f"g={self.g} divides the channels of no 1x1 conv{where} ({_listing(graph, pool)}); "
                            f"try {_suggest(graph, pool)}")
        entry = Grouping(self.g, self.shuffle, self.where)
        return replace(spec, grouping=spec.grouping + (entry,))

    has_notes = True

    def notes(self, before, after) -> list:
        pool = candidates(before, selector(self.name, self.where))
        grouped = [n for n in pool if after[n.name].attrs["groups"] == self.g]
        left = [n for n in pool if after[n.name].attrs["groups"] == 1]
        out = [f"grouped {len(grouped)} 1x1 conv(s) into {self.g}" + (" with shuffle" if self.shuffle else "")]
        if left:
            out.append(f"left alone, {self.g} does not divide their channels: {_listing(before, left)}")
        return out


def _channels(graph, node) -> str:
    return f"{graph.shape(node.inputs[0])[0]}->{node.shape[0]}"


def _listing(graph, nodes) -> str:
    shown = ", ".join(f"{n.name} {_channels(graph, n)}" for n in nodes[:LISTED])
    return shown + (f" and {len(nodes) - LISTED} more" if len(nodes) > LISTED else "")


def _suggest(graph, pool) -> str:
    """A group count that fits at least one conv."""
    for g in (2, 4, 8, 3):
        if any(fits(graph, n, g) for n in pool):
            return f"groups={g}"
    return "a where= with other convs"
