"""Emit: Spec -> YAML text, as a table a person can read. Loading the emitted
text and building it gives the identical graph (the round-trip property)."""
from __future__ import annotations

from archc.lang import yamlio
from archc.lang.spec import Row, Spec, Stage


def to_dict(spec: Spec) -> dict:
    d: dict = {"name": spec.name}
    if spec.doc:
        d["doc"] = spec.doc
    d["input"] = list(spec.input)
    if spec.vars:
        d["vars"] = dict(spec.vars)
    if spec.normalize:
        d["normalize"] = {"mean": list(spec.normalize[0]), "std": list(spec.normalize[1])}
    d["width"] = {"multiplier": spec.width.multiplier, "round": spec.width.round, "divisor": spec.width.divisor}
    if spec.blocks:
        d["blocks"] = spec.blocks
    d["stages"] = [_stage(st) for st in spec.stages]
    if spec.outputs:
        d["outputs"] = list(spec.outputs)
    if spec.grouping:
        d["grouping"] = [_grouping(g) for g in spec.grouping]
    return d


def _grouping(g) -> dict:
    out: dict = {"g": g.g}
    if g.shuffle:
        out["shuffle"] = True
    if g.where:
        out["where"] = g.where
    if g.doc:
        out["doc"] = g.doc
    return out


def _stage(st: Stage) -> dict:
    d: dict = {"id": st.id}
    if st.doc:
        d["doc"] = st.doc
    if st.frm:
        d["from"] = st.frm[0] if len(st.frm) == 1 else list(st.frm)
    if st.columns:
        d["columns"] = list(st.columns)
    if st.defaults:
        d["defaults"] = dict(st.defaults)
    if st.output_stride is not None:
        d["output_stride"] = st.output_stride
    d["rows"] = [_row(r, st) for r in st.rows]
    if st.taps:
        d["taps"] = dict(st.taps)
    return d


def _specials(row: Row) -> dict:
    out: dict = {}
    if row.id:
        out["id"] = row.id
    if row.frm:
        out["from"] = row.frm[0] if len(row.frm) == 1 else list(row.frm)
    if row.width != "normal":
        out["width"] = row.width
    if row.doc:
        out["doc"] = row.doc
    return out


def _row(row: Row, st: Stage):
    fields = {k: v for k, v in row.fields.items() if not (k in st.defaults and st.defaults[k] == v)}
    if row.style == "list" and st.columns:
        values = [row.op]
        for col in st.columns[1:]:
            if col == "n":
                values.append(row.n)
            elif col in fields:
                values.append(fields.pop(col))
            else:
                break
        extra = {**fields, **_specials(row)}
        if "n" not in st.columns[1: len(values)] and row.n != 1:
            extra["n"] = row.n
        return values + [extra] if extra else values
    out = {"op": row.op, **fields}
    if row.n != 1:
        out["n"] = row.n
    return {**out, **_specials(row)}


def emit(spec: Spec, note: str = "") -> str:
    """YAML text for `spec`, headed by its original comment and `note`."""
    head = [spec.header] if spec.header else []
    if note:
        head.append(f"# {note}")
    text = yamlio.dump(to_dict(spec))
    return ("\n".join(head) + "\n" if head else "") + text
