from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from archc.lang.blocks import Library
from archc.errors import PassError
from archc.lang.select import rows_of
from archc.lang.spec import Spec
from archc.passes import GraphOf
from . import Pass, register, selector


@register
@dataclass(frozen=True)
class ExpandPass(Pass):
    """Expansion rate: set the bottlenecks' t (hidden = in * t).

    Applies to every row whose op has a `t`
    parameter (inverted-residual bottlenecks), or of the rows `where` selects.
    The thesis's t knob (6, 4, 2).

        --pass expand=2               recipe: - expand: 2
        --pass expand=4,where=gfe     recipe: - expand: {t: 4, where: gfe}
    """

    name = "expand"
    t: float
    where: Optional[str] = None  # a selector: stage id, row id, STAGE.ROW, op:NAME

    def __post_init__(self):
        if not 0 < self.t <= 64:
            raise PassError(f"pass 'expand': t={self.t:g} must be > 0 and <= 64, e.g. expand=6")
        selector(self.name, self.where)

    def apply(self, spec: Spec, graph_of: GraphOf) -> Spec:
        lib = Library(spec.blocks)
        chosen = rows_of(spec, selector(self.name, self.where), f"expand where={self.where}")
        t = int(self.t) if float(self.t).is_integer() else self.t  # written back as 2, not 2.0
        hits = []

        def row(stage, i, r):
            if (stage.id, i) not in chosen or "t" not in lib.params_of(r.op):
                return r
            hits.append(i)
            return replace(r, fields={**r.fields, "t": t})

        out = spec.with_rows(row)
        if not hits:
            raise PassError(f"no row{' in ' + self.where if self.where else ''} has an expansion `t` "
                            f"(ops with t: {', '.join(_ops_with_t(lib)) or 'none'})")
        return out


def _ops_with_t(lib: Library) -> list:
    return sorted(name for name, b in lib.blocks.items() if "t" in b.params)
