from __future__ import annotations

from dataclasses import dataclass, replace

from archc.errors import PassError
from archc.lang.refs import Renamer
from archc.errors import did_you_mean
from archc.lang.spec import Spec
from . import Pass, register
from archc.passes import GraphOf


@register
@dataclass(frozen=True)
class DropPass(Pass):
    """Module removal: drop a row, a stage or every row of an op, if shapes allow.

    The target is a row (by id, or STAGE.ROW), a whole stage (by id), or
    every row of an op (`drop=ppm`, `drop=dropout`). Allowed only when the
    module's input and output shapes agree; whatever read the module reads its
    input instead. Its parameters really go (the thesis's pp=0 still built
    the PPM).

        --pass drop=ppm               recipe: - drop: ppm
    """

    name = "drop"
    target: str

    def apply(self, spec: Spec, graph_of: GraphOf) -> Spec:
        kind = _kind(spec, self.target)
        if kind == "stage":
            return drop_stage(graph_of, spec, self.target)
        if kind == "row":
            return drop_row(graph_of, spec, *_find_row(spec, lambda st, i, r: self.target in _row_names(st, i, r)))
        while (found := _find_row(spec, lambda st, i, r: r.op == self.target)) is not None:
            spec = drop_row(graph_of, spec, *found)
        return spec


def _kind(spec: Spec, target: str) -> str:
    stages = [st.id for st in spec.stages]
    rows = [name for st in spec.stages for i, r in enumerate(st.rows) for name in _row_names(st, i, r)]
    ops = sorted({r.op for st in spec.stages for r in st.rows})
    if target in stages:
        return "stage"
    if target in rows:
        return "row"
    if target in ops:
        return "op"
    ids = [r.id for st in spec.stages for r in st.rows if r.id]
    raise PassError(f"nothing named '{target}' to drop (stages: {', '.join(stages)}; row ids: "
                    f"{', '.join(ids) or 'none'}; ops: {', '.join(ops)}; or STAGE.ROW)"
                    f"{did_you_mean(target, stages + ids + ops)}")


def _row_names(st, i, row) -> tuple:
    """What a row answers to: its id, STAGE.ID and STAGE.INDEX."""
    return (row.id, f"{st.id}.{row.id}", f"{st.id}.{i}") if row.id else (f"{st.id}.{i}",)


def _find_row(spec: Spec, pred):
    for st in spec.stages:
        for i, r in enumerate(st.rows):
            if pred(st, i, r):
                return st.id, i
    return None


def _check_shapes(graph, label: str, what: str, inside) -> None:
    """The module's nodes read one outside input whose shape equals the module's output."""
    names = {n.name for n in graph if inside(n)}
    ext = list(dict.fromkeys(i for n in graph if n.name in names for i in n.inputs if i not in names))
    if len(ext) > 1:
        raise PassError(f"cannot drop {label} ({what}): it reads {len(ext)} inputs ({', '.join(ext)}); "
                        f"only a single-input module can be removed")
    out = graph.refs[label]
    if ext and graph.shape(ext[0]) != graph.shape(out):
        shp = lambda s: "x".join(map(str, s))  # noqa: E731
        raise PassError(f"cannot drop {label} ({what}): its input {ext[0]} is {shp(graph.shape(ext[0]))} but its "
                        f"output {out} is {shp(graph.shape(out))}; only a module whose input and output shapes "
                        f"agree can be removed")


def _stage_input(spec: Spec, si: int) -> str:
    st = spec.stages[si]
    if st.frm:
        return st.frm[0]
    return spec.stages[si - 1].id if si else "input"


def _row_input(spec: Spec, sid: str, idx: int) -> str:
    """The name of what row `idx` of stage `sid` reads: its from, the row before, or the stage's input."""
    st = spec.stage(sid)
    row = st.rows[idx]
    if row.frm:
        return row.frm[0]
    if idx:
        return st.rows[idx - 1].id or f"{sid}.{idx - 1}"
    return _stage_input(spec, [s.id for s in spec.stages].index(sid))


def drop_row(graph_of: GraphOf, spec: Spec, sid: str, idx: int) -> Spec:
    st = spec.stage(sid)
    if len(st.rows) == 1:
        return drop_stage(graph_of, spec, sid)  # a stage cannot be empty
    row, key = st.rows[idx], st.rows[idx].id or str(idx)
    label = f"{sid}.{key}"
    _check_shapes(graph_of(spec), label, row.op, lambda n: (n.stage, n.row) == (sid, key))
    if row.frm and idx == len(st.rows) - 1:
        raise PassError(f"cannot drop {label}: it ends stage {sid} but reads '{row.frm[0]}', not the row before; "
                        f"drop the stage or give the row before it an explicit from")
    repl = _row_input(spec, sid, idx)
    rows = list(st.rows)
    del rows[idx]
    if row.frm and rows[idx].frm is None:
        rows[idx] = replace(rows[idx], frm=row.frm)  # the next row read the dropped row's input
    later = [k for k in range(idx + 1, len(st.rows)) if not st.rows[k].id]
    mapping = {label: repl, **({row.id: repl} if row.id else {}),
               **{f"{sid}.{k}": f"{sid}.{k - 1}" for k in later}}
    prefixes = {f"{label}.": None, **{f"{sid}.{k}.": f"{sid}.{k - 1}." for k in later}}
    gone = {label} | ({row.id} if row.id else set())
    spec = replace(spec, stages=tuple(replace(s, rows=tuple(rows)) if s.id == sid else s for s in spec.stages))
    return Renamer(mapping, prefixes, gone, f"the dropped {label}").spec(spec)


def drop_stage(graph_of: GraphOf, spec: Spec, sid: str) -> Spec:
    if len(spec.stages) == 1:
        raise PassError(f"cannot drop stage {sid}: it is the only stage")
    si = [s.id for s in spec.stages].index(sid)
    st = spec.stages[si]
    _check_shapes(graph_of(spec), sid, "stage", lambda n: n.stage == sid)
    repl = _stage_input(spec, si)
    stages = list(spec.stages)
    del stages[si]
    outputs = spec.outputs
    if st.frm and si < len(stages) and stages[si].frm is None:
        stages[si] = replace(stages[si], frm=st.frm)  # the next stage read the dropped stage's input
    elif st.frm and si == len(stages) and outputs is None:
        outputs = st.frm
    names = [sid] + [n for i, r in enumerate(st.rows) for n in (r.id, f"{sid}.{r.id or i}") if n]
    spec = replace(spec, stages=tuple(stages), outputs=outputs)
    return Renamer({n: repl for n in names}, {f"{sid}.": None}, set(names), f"the dropped stage {sid}").spec(spec)
