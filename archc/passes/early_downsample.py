from __future__ import annotations

from dataclasses import dataclass, replace

from archc.lang.blocks import Library
from archc.errors import GraphError, PassError, SpecError, did_you_mean
from archc.lang.expr import resolve
from archc.lang.spec import Spec
from . import Pass, register
from archc.passes import GraphOf
from .early_pool import pool_input

MODES = ("move", "pool")


@register
@dataclass(frozen=True)
class EarlyDownsamplePass(Pass):
    """Early downsampling: move k stride-2 steps toward the input; reports the MAC change.

    mode=move (the default): the main path is a chain of rows each reading the
    one before. Each step takes the first stride-2 row that has a stride-1 row
    with a kernel larger than 1x1 before it on its chain and gives the stride
    to the earliest such row; the rows in between then run at half the
    resolution. The total stride and the strides every merge point (a row
    reading several inputs: skip, fusion, decoder) sees stay the same; a move
    that would change them is refused with the reason.

    mode=pool: for nets with no such row (Fast-SCNN, ERFNet, ENet...): the
    input is average-pooled by 2^k before the first layer and each output that
    came out smaller is upsampled 2^k times more (its closing resize scales
    more, or a resize is added after it), so the outputs keep their size.

        --pass early_downsample=1     recipe: - early_downsample: 1
        --pass early_downsample=1,mode=pool     recipe: - early_downsample: {k: 1, mode: pool}
    """

    name = "early_downsample"
    k: int
    mode: str = "move"

    def __post_init__(self):
        if self.k < 1:
            raise PassError(f"pass 'early_downsample': k={self.k} must be >= 1, e.g. early_downsample=1")
        if self.mode not in MODES:
            raise PassError(f"pass 'early_downsample': mode={self.mode!r} must be one of {', '.join(MODES)}"
                            f"{did_you_mean(self.mode, MODES)}")
        if self.mode == "pool" and self.k > 6:
            raise PassError(f"pass 'early_downsample': k={self.k} with mode=pool pools the input by "
                            f"{2 ** self.k}; use k <= 6")

    def apply(self, spec: Spec, graph_of: GraphOf) -> Spec:
        if self.mode == "pool":
            return pool_input(graph_of, spec, self.k)
        for step in range(self.k):
            try:
                spec = _one_step(graph_of, spec)
            except PassError as exc:
                done = f"after {step} of {self.k} step(s): " if step else ""
                raise PassError(done + exc.message) from None
        return spec

    has_notes = True

    def notes(self, before, after) -> list:
        from archc.ir.analysis import analyze

        a, b = analyze(before).macs, analyze(after).macs
        macs = f"MACs {a:,} -> {b:,} ({(b - a) / a:+.1%})" if a else f"MACs {a:,} -> {b:,}"
        if self.mode == "pool":
            kept = ", ".join("x".join(map(str, after.shape(o))) for o in after.outputs)
            return [f"input average-pooled x{2 ** self.k} before the first layer, outputs kept at {kept}", macs]
        moved = [f"{name} {_x(before[before.refs[name]].stride)} -> {_x(after[after.refs[name]].stride)}"
                 for name in before.refs if _is_row(name) and name in after.refs
                 and before[before.refs[name]].stride != after[after.refs[name]].stride]
        return [f"row output strides {', '.join(moved) or 'unchanged'}", macs]


def _is_row(name: str) -> bool:
    return name.count(".") == 1


def _x(stride) -> str:
    return f"x{stride:g}" if stride is not None else "-"


def _chains(spec: Spec) -> list:
    """Rows grouped into chains: a row with an explicit `from:` (or the first row
    of a stage with one) starts a new chain."""
    chains: list = [[]]
    for st in spec.stages:
        for i, row in enumerate(st.rows):
            if row.frm or (i == 0 and st.frm):
                chains.append([])
            chains[-1].append((st.id, i))
    return [c for c in chains if c]


def _value(spec: Spec, lib: Library, row, name: str):
    params = lib.params_of(row.op)
    if name not in params:
        return None
    value = row.fields.get(name, params[name].default)
    try:
        value = resolve(value, spec.vars)
    except SpecError:
        return None  # an expression over block inputs: not a plain stride
    return value if isinstance(value, int) and not isinstance(value, bool) else (
        max(value) if isinstance(value, list) and all(isinstance(v, int) for v in value) else None)


def _moves(spec: Spec):
    """Candidate (receiver, giver) row pairs, in the order they are tried."""
    lib = Library(spec.blocks)
    for chain in _chains(spec):
        rows = [(sid, i, spec.stage(sid).rows[i]) for sid, i in chain]
        for j, (sj, ij, rj) in enumerate(rows):
            if _value(spec, lib, rj, "s") != 2:
                continue
            for si, ii, ri in rows[:j]:
                if _value(spec, lib, ri, "s") == 1 and (_value(spec, lib, ri, "k") or 1) > 1:
                    yield (si, ii), (sj, ij)


def _with_stride(spec: Spec, at, s: int) -> Spec:
    return spec.with_rows(lambda st, i, r: replace(r, fields={**r.fields, "s": s}) if (st.id, i) == at else r)


def _one_step(graph_of: GraphOf, spec: Spec) -> Spec:
    base, reasons = graph_of(spec), []
    for recv, give in _moves(spec):
        cand = _with_stride(_with_stride(spec, recv, 2), give, 1)
        why = _changed(graph_of, spec, base, cand)
        if why is None:
            return cand
        reasons.append(f"moving the stride of {_label(spec, give)} to {_label(spec, recv)} {why}")
    if reasons:
        raise PassError(f"no stride-2 step can move: {reasons[0]}")
    raise PassError("no stride-1 row with a kernel larger than 1x1 precedes a stride-2 row on the main path; "
                    "mode=pool downsamples the input instead (early_downsample=1,mode=pool)")


def _label(spec: Spec, at) -> str:
    row = spec.stage(at[0]).rows[at[1]]
    return f"{at[0]}.{row.id or at[1]}"


def _changed(graph_of: GraphOf, spec: Spec, base, cand: Spec):
    """Why `cand` is not an allowed move (None when it is)."""
    try:
        graph = graph_of(cand)
    except GraphError as exc:
        return f"breaks the network: {exc.message}"
    for label, names in _merges(spec):
        old, new = _strides(base, names), _strides(graph, names)
        if old != new:
            return (f"would change the strides {label} sees from {old} to {new} "
                    f"(a skip into it fixes them)")
    for a, b in zip(base.outputs, graph.outputs):
        if (base.shape(a), base[a].stride) != (graph.shape(b), graph[b].stride):
            return f"would change the output {a} from {list(base.shape(a))} to {list(graph.shape(b))}"
    return None


def _merges(spec: Spec) -> list:
    """(row label, names it reads) of every row that reads more than one input."""
    out = []
    for st in spec.stages:
        for i, row in enumerate(st.rows):
            names = row.frm or (st.frm if i == 0 else None)
            if names and len(names) > 1:
                out.append((f"{st.id}.{row.id or i} ({row.op})", names))
    return out


def _strides(graph, names) -> list:
    return [int(s) if (s := graph[graph.refs.get(n, n)].stride) is not None and float(s).is_integer() else s
            for n in names]
