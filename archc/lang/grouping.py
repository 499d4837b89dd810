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

from dataclasses import dataclass, field

from archc.errors import ArchcError, Mark, SpecError
from archc.lang.select import Selector

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
