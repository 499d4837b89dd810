from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from archc.ir.build import scale_channels
from archc.passes import GraphOf
from archc.errors import PassError
from archc.lang.expr import resolve
from archc.lang.select import rows_of
from archc.lang.spec import Spec, Width
from . import Pass, register, selector

ROUNDING = ("floor", "nearest", "ceil")


@register
@dataclass(frozen=True)
class WidthPass(Pass):
    """Width multiplier: scale every channel count by `a` with the spec's rounding.

    Rows marked `width: fixed` (class counts) keep their channels; `width: up`
    rows only grow (MobileNet's 1280). Counts derived inside blocks (hidden =
    in*t, PPM inner = C/4) follow. The written-back spec holds the new counts
    and a multiplier of 1.

        --pass width=0.125            recipe: - width: 0.125
        --pass width=0.5,divisor=8,round=nearest
        --pass width=0.5,where=gfe    recipe: - width: {a: 0.5, where: gfe}

    With `where`, only the selected rows scale (per-stage width); the others keep
    the counts the spec's own multiplier gives them.
    """

    name = "width"
    a: float
    divisor: Optional[int] = None  # default: the spec's own
    round: Optional[str] = None  # floor (int(c*a)), nearest (make_divisible), ceil
    where: Optional[str] = None  # a selector: stage id, row id, STAGE.ROW, op:NAME

    def __post_init__(self):
        if not self.a > 0 or self.a > 64:
            raise PassError(f"pass 'width': multiplier {self.a:g} must be > 0 and <= 64, e.g. width=0.5")
        if self.divisor is not None and self.divisor < 1:
            raise PassError(f"pass 'width': divisor {self.divisor} must be >= 1")
        if self.round is not None and self.round not in ROUNDING:
            raise PassError(f"pass 'width': round must be one of {', '.join(ROUNDING)}, got '{self.round}'")
        selector(self.name, self.where)

    def apply(self, spec: Spec, graph_of: GraphOf) -> Spec:
        from archc.lang.blocks import Library

        lib = Library(spec.blocks)
        rule = Width(self.a, self.round or spec.width.round, self.divisor or spec.width.divisor)
        chosen = rows_of(spec, selector(self.name, self.where), f"width where={self.where}")

        def row(stage, i, r):
            params = lib.params_of(r.op)
            fields = dict(r.fields)
            own = rule if (stage.id, i) in chosen else spec.width  # unselected rows: what build gave them
            for name, value in r.fields.items():
                if params[name].type != "channels" or r.width == "fixed":
                    continue
                c = resolve(value, spec.vars)
                new = scale_channels(c, own, r.width)
                if new < 1:
                    raise PassError(f"width {self.a:g} turns {name}={c} of {stage.id}.{r.id or i} ({r.op}) into "
                                    f"{new} channels; use a larger width", r.field_mark(name))
                fields[name] = new
            return replace(r, fields=fields)

        scaled = spec.with_rows(row)
        return replace(scaled, width=replace(rule, multiplier=1.0))
