"""Renaming what a spec's references point at, everywhere they occur: stage and
row `from:`, `outputs:`, an op's node-naming params (resize `to:`) and `grouping:` selectors. Used
by passes that remove rows, which shifts the indices of the rows after them."""
from __future__ import annotations

from dataclasses import replace

from archc.errors import PassError
from archc.lang.expr import is_expr
from archc.lang.select import Selector
from archc.lang.spec import Spec
from archc.ops import OPS


class Renamer:
    """`mapping`: exact names; `prefixes`: node-path prefixes (None: the node is gone);
    `gone`: names whose selector alternatives disappear with them."""

    def __init__(self, mapping: dict, prefixes: dict, gone: set, what: str):
        self.mapping, self.prefixes, self.gone, self.what = mapping, prefixes, gone, what

    def ref(self, name: str, reader: str) -> str:
        if name in self.mapping:
            return self.mapping[name]
        for prefix, new in self.prefixes.items():
            if name.startswith(prefix):
                if new is None:
                    raise PassError(f"{reader} reads node '{name}' inside {self.what}; "
                                    f"point it at {self.what}'s input or output first")
                return new + name[len(prefix):]
        return name

    def refs(self, names, reader: str):
        return None if names is None else tuple(self.ref(n, reader) for n in names)

    def spec(self, spec: Spec) -> Spec:
        stages = tuple(replace(st, frm=self.refs(st.frm, f"stage {st.id}"),
                               rows=tuple(self._row(st, i, r) for i, r in enumerate(st.rows)))
                       for st in spec.stages)
        grouping = tuple(g for g in (self._grouping(g) for g in spec.grouping) if g is not None)
        return replace(spec, stages=stages, outputs=self.refs(spec.outputs, "outputs"), grouping=grouping)

    def _row(self, st, i, row):
        reader = f"{st.id}.{row.id or i}"
        fields = dict(row.fields)
        for key in OPS[row.op].refs if row.op in OPS else ():  # params naming a node (resize `to:`)
            if isinstance(fields.get(key), str) and not is_expr(fields[key]):
                fields[key] = self.ref(fields[key], reader)
        return replace(row, frm=self.refs(row.frm, reader), fields=fields)

    def _grouping(self, g):
        if g.where is None:
            return g
        sel = Selector.parse(g.where).without(self.gone)
        if sel is None:
            return None  # everything it grouped is gone
        return replace(g, where=sel.renamed(self.mapping).text)
