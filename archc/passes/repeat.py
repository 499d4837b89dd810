from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from archc.errors import PassError
from archc.lang.select import rows_of
from archc.lang.spec import Spec
from archc.passes import GraphOf
from . import Pass, register, selector


@register
@dataclass(frozen=True)
class RepeatPass(Pass):
    """Operator repetition: at most r blocks per table row.

    Rows with n > r get n = r. The first block of a row carries its stride, so only repeats go.
    The thesis's r knob (3, 2, 1).

        --pass repeat=1               recipe: - repeat: 1
        --pass repeat=2,where=gfe     recipe: - repeat: {r: 2, where: gfe}
    """

    name = "repeat"
    r: int
    where: Optional[str] = None  # a selector: stage id, row id, STAGE.ROW, op:NAME

    def __post_init__(self):
        if self.r < 1:
            raise PassError(f"pass 'repeat': r={self.r} must be >= 1 (the first block of a row always stays), "
                            f"e.g. repeat=1")
        selector(self.name, self.where)

    def apply(self, spec: Spec, graph_of: GraphOf) -> Spec:
        chosen = rows_of(spec, selector(self.name, self.where), f"repeat where={self.where}")
        return spec.with_rows(lambda st, i, r: replace(r, n=min(r.n, self.r)) if (st.id, i) in chosen else r)
