"""early_downsample's `mode=pool`: downsample before the first layer, upsample that much more after the
last, so every layer runs at a lower resolution and the outputs keep their size.

The network's input is average-pooled by 2^k (a new first stage, `early_downsample`); every `from:`
that read `input` reads the pooled map instead (a resize `to: input` still means the image's size).
An output that comes out smaller is brought back: its closing `resize` by `scale` scales 2^k times
more (Fast-SCNN's x8 becomes x16), or, when it ends in anything else (a transposed conv, a conv
head), a bilinear `resize` by 2^k is added after it as a stage of its own, which the outputs name.
"""
from __future__ import annotations

from dataclasses import replace

from archc.errors import GraphError, PassError
from archc.passes import GraphOf
from archc.lang.spec import Row, Spec, Stage
from archc.ops import OPS

POOL_ID = "early_downsample"


def pool_input(graph_of: GraphOf, spec: Spec, k: int) -> Spec:
    """`spec` with its input pooled by 2^k and its outputs upsampled back; refused with the reason."""
    factor, base = 2**k, graph_of(spec)
    taken = {st.id for st in spec.stages} | set(base.refs)
    cand = _pooled_again(spec, factor)  # this pass applied before: its pooling pools more
    if cand is None and POOL_ID in taken:
        raise PassError(f"mode=pool adds a stage '{POOL_ID}', but the spec already has that name; rename it")
    if cand is None:
        pool = Stage(id=POOL_ID, rows=(Row(op="avgpool", fields={"k": factor}, style="dict"),),
                     doc=f"early downsampling: the input average-pooled x{factor}")
        cand = replace(spec, stages=(pool, *(_reading_pool(st) for st in spec.stages)))
    graph = _build(graph_of, cand)
    for i, (a, b) in enumerate(zip(base.outputs, graph.outputs)):
        if base.shape(a) != graph.shape(b):
            cand = _upsample_output(cand, i, factor, taken)
    graph = _build(graph_of, cand)
    for a, b in zip(base.outputs, graph.outputs):
        if base.shape(a) != graph.shape(b):
            raise PassError(f"mode=pool would change the output {a} from {list(base.shape(a))} to "
                            f"{list(graph.shape(b))} (x{factor} does not bring it back); use an input "
                            f"divisible by {factor} times the network's total stride")
    return cand


def _pooled_again(spec: Spec, factor: int):
    first = spec.stages[0]
    row = first.rows[0]
    if first.id != POOL_ID or len(first.rows) != 1 or row.op != "avgpool" or not isinstance(row.fields.get("k"), int):
        return None
    doc = f"early downsampling: the input average-pooled x{row.fields['k'] * factor}"
    return _with_row(replace(spec, stages=(replace(first, doc=doc), *spec.stages[1:])), (0, 0),
                     replace(row, fields={**row.fields, "k": row.fields["k"] * factor}))


def _build(graph_of: GraphOf, spec: Spec):
    try:
        return graph_of(spec)
    except GraphError as exc:
        hint = ("; to pool a larger input, give `--pass input=CxHxW` before this pass (--input applies after it)"
                if "total stride" in exc.message else "")
        raise PassError(f"mode=pool breaks the network: {exc.message}{hint}") from None


def _renamed(names):
    return None if names is None else tuple(POOL_ID if n == "input" else n for n in names)


def _reading_pool(st: Stage) -> Stage:
    """The stage with every `from: input` (its own and its rows') reading the pooled map."""
    rows = tuple(replace(r, frm=_renamed(r.frm)) for r in st.rows)
    return replace(st, frm=_renamed(st.frm), rows=rows)


def _output_names(spec: Spec) -> tuple:
    return spec.outputs if spec.outputs else (spec.stages[-1].id,)


def _closing_row(spec: Spec, name: str):
    """(stage index, row index) of the row whose output `name` is, or None when it names a node inside one."""
    for si, st in enumerate(spec.stages):
        if name == st.id:
            return si, len(st.rows) - 1
        for ri, row in enumerate(st.rows):
            if name in (row.id, f"{st.id}.{ri}", f"{st.id}.{row.id}"):
                return si, ri
    return None


def _upsample_output(spec: Spec, i: int, factor: int, taken: set) -> Spec:
    names = _output_names(spec)
    at = _closing_row(spec, names[i])
    if at is not None:
        row = spec.stages[at[0]].rows[at[1]]
        rescale = OPS[row.op].rescale if row.op in OPS and row.n == 1 else None  # a closing resize scales more
        fields = rescale(row.fields, factor) if rescale is not None else None
        if fields is not None:
            return _with_row(spec, at, replace(row, fields=fields))
    sid = _fresh(f"{names[i].replace('.', '_')}_up", taken)
    taken.add(sid)
    up = Stage(id=sid, frm=(names[i],), rows=(Row(op="resize", fields={"scale": factor}, style="dict"),),
               doc=f"early downsampling: {names[i]} upsampled x{factor} back to its size")
    outputs = tuple(sid if j == i else n for j, n in enumerate(names)) if spec.outputs else None
    return replace(spec, stages=(*spec.stages, up), outputs=outputs)


def _with_row(spec: Spec, at, row: Row) -> Spec:
    """`spec` with the row at (stage index, row index) replaced (stage ids are unique)."""
    sid = spec.stages[at[0]].id
    return spec.with_rows(lambda st, i, r: row if st.id == sid and i == at[1] else r)


def _fresh(name: str, taken: set) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}{n}", n + 1
    return out
