"""Selectors: which part of a network a pass (or a spec's `grouping:`) applies to.

    gfe                a stage id, or a row id (`ppm`): ids share one namespace
    gfe.1              one table row, by stage id and row index (or row id)
    role:pointwise     nodes whose block roles contain `pointwise`
    op:bottleneck      rows whose op (block or primitive) is `bottleneck`
    gfe|ffm            any of several selectors

Row-level passes (expand, repeat) match rows; `grouping` matches IR nodes.
A selector is data: parsing only checks its form; what it names is checked
against a spec or graph by the code that uses it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from archc.errors import PassError, did_you_mean

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_FORMS = (("role", rf"role:({_NAME})"), ("op", rf"op:({_NAME})"),
          ("path", rf"({_NAME})\.({_NAME}|\d+)"), ("name", rf"({_NAME})"))
HELP = "a stage id, a row id, STAGE.ROW, role:NAME or op:NAME, joined by |"


@dataclass(frozen=True)
class Selector:
    text: str
    parts: tuple  # ((kind, value), ...); value is a str, or (stage, row key) for paths

    @classmethod
    def parse(cls, text: str, who: str = "where") -> "Selector":
        parts = []
        for alt in str(text).split("|"):
            alt = alt.strip()
            parts.append(_part(alt, text, who))
        return cls(str(text), tuple(parts))

    def node_matches(self, node) -> bool:
        return any(_node_part(kind, value, node) for kind, value in self.parts)

    def row_matches(self, stage, index: int, row) -> bool:
        """Rows of a Spec; role: selectors match no row (roles live inside blocks)."""
        key = row.id or str(index)
        return any(_row_part(kind, value, stage.id, key, row) for kind, value in self.parts)

    def without(self, names: set) -> "Selector | None":
        """This selector less the alternatives that name any of `names` (ids or STAGE.ROW)."""
        keep = [p for p in self.parts if _text(p) not in names]
        return Selector("|".join(_text(p) for p in keep), tuple(keep)) if keep else None

    def renamed(self, mapping: dict) -> "Selector":
        """STAGE.ROW and name alternatives renamed through `mapping` (row indices shift on drop)."""
        texts = [mapping.get(_text(p), _text(p)) for p in self.parts]
        return Selector.parse("|".join(texts))


def _part(alt, text, who):
    for kind, pattern in _FORMS:
        m = re.fullmatch(pattern, alt)
        if m:
            return (kind, m.groups() if kind == "path" else m.group(1))
    raise PassError(f"{who}={text!r}: '{alt}' is not a selector ({HELP})")


def _text(part) -> str:
    kind, value = part
    if kind == "path":
        return f"{value[0]}.{value[1]}"
    return value if kind == "name" else f"{kind}:{value}"


def _node_part(kind, value, node) -> bool:
    if kind == "name":
        return value in (node.stage, node.row)
    if kind == "path":
        return (node.stage, node.row) == value
    if kind == "role":
        return value in node.roles
    return node.block == value


def _row_part(kind, value, sid, key, row) -> bool:
    if kind == "name":
        return value in (sid, row.id)
    if kind == "path":
        return (sid, key) == value
    return kind == "op" and row.op == value


def check_nodes(graph, selector: Selector, who: str, error=PassError, mark=None) -> None:
    """An error when an alternative of `selector` selects no node of `graph`."""
    for part in selector.parts:
        if not any(_node_part(*part, n) for n in graph):
            known = sorted({n.stage for n in graph if n.stage} | {n.row for n in graph if not n.row.isdigit()})
            known = [k for k in known if k]
            hint = did_you_mean(_text(part), known) if part[0] in ("name", "path") else ""
            raise error(f"{who}: '{_text(part)}' selects nothing (stage and row ids: {', '.join(known)}; "
                        f"or STAGE.ROW, role:NAME, op:NAME){hint}", mark)


def rows_of(spec, selector: Selector | None, who: str) -> set:
    """(stage id, row index) of every row `selector` matches (all rows when None);
    an error when an alternative names nothing."""
    every = {(st.id, i) for st in spec.stages for i in range(len(st.rows))}
    if selector is None:
        return every
    out = set()
    for part in selector.parts:
        one = Selector(_text(part), (part,))
        found = {(st.id, i) for st in spec.stages for i, r in enumerate(st.rows) if one.row_matches(st, i, r)}
        if not found:
            known = [st.id for st in spec.stages] + [r.id for st in spec.stages for r in st.rows if r.id]
            why = "role: selects nodes inside blocks, not rows; " if part[0] == "role" else ""
            raise PassError(f"{who}: '{_text(part)}' names no row ({why}stages and row ids: {', '.join(known)}; "
                            f"or STAGE.ROW, op:NAME){did_you_mean(_text(part), known)}")
        out |= found
    return out
