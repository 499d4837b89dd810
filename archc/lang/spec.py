"""Spec: the YAML document after schema validation, as typed values that remember
where they came from. Decoding (YAML -> Spec) is separate from building (Spec -> IR)."""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from functools import partial

from archc.errors import Mark, SpecError, did_you_mean
from archc.lang import yamlio
from archc.lang.blocks import library
from archc.lang.cached import cached
from archc.lang.expr import make_divisible
from archc.lang.grouping import decode_grouping
from archc.lang.imports import Importer, import_stages
from archc.lang.normalize import decode_normalize, default_normalization
from archc.lang.schema import validate_schema

ROW_KEYS = ("op", "id", "n", "from", "width", "doc")  # row fields that are not op parameters
WIDTH_MODES = ("normal", "fixed", "up")
MAX_REPEATS = 1000  # how a row follows the width multiplier


@dataclass(frozen=True)
class Width:
    """The spec's width convention: c -> round(c * multiplier) to a multiple of divisor."""

    multiplier: float = 1.0
    round: str = "floor"
    divisor: int = 1


@dataclass(frozen=True)
class Row:
    op: str
    fields: dict  # op parameters as written (values may be `$expressions`)
    n: int = 1
    id: str | None = None
    frm: tuple | None = None
    width: str = "normal"  # normal, fixed (never scales: class counts) or up (only grows)
    doc: str | None = None
    style: str = "list"  # how it was written: "list" (table row) or "dict"
    mark: Mark | None = None
    marks: dict = field(default_factory=dict, compare=False)  # field name -> Mark

    def field_mark(self, name: str) -> Mark | None:
        return self.marks.get(name, self.mark)

    content_key = cached(repr)  # every field's repr, marks included (once per Row: passes share rows)


@dataclass(frozen=True)
class Stage:
    id: str
    rows: tuple
    columns: tuple | None = None
    defaults: dict = field(default_factory=dict)
    frm: tuple | None = None
    doc: str | None = None
    mark: Mark | None = None
    output_stride: object = None  # int or `$expr`: past it, strides become dilations
    taps: dict = field(default_factory=dict)  # name -> node reference, defined after the stage
    marks: dict = field(default_factory=dict, compare=False)  # field name -> Mark

    @cached
    def content_key(self) -> str:  # the fields' reprs and each row's content_key (passes share rows)
        return _joined([repr(getattr(self, f)) for f in _STAGE] + [row.content_key for row in self.rows])


@dataclass(frozen=True)
class Spec:
    name: str
    input: tuple
    stages: tuple
    vars: dict = field(default_factory=dict)
    width: Width = Width()
    blocks: dict = field(default_factory=dict)  # user blocks: name -> raw definition
    outputs: tuple | None = None
    grouping: tuple = ()  # grouping.Grouping entries, applied in order after the tables are built
    doc: str | None = None
    file: str = "<spec>"
    header: str = ""  # the file's leading comment lines (citations), kept on write-back
    mark: Mark | None = None
    input_mark: Mark | None = None
    sources: tuple = field(default=(), compare=False)  # (file, sha256 of its text): this one, then imports
    normalize: tuple | None = None  # (mean, std) as written; None: default_normalization

    @cached
    def content_key(self) -> tuple:
        """(the content but the input, the input), marks included: equal keys, equal graphs. The first
        is one string (its hash is worked out once: workspaces look graphs up by it again and again)."""
        rest = ["s" + v if type(v) is str else "r" + repr(v) for v in map(self.__getattribute__, _REST)]
        return _joined([st.content_key for st in self.stages] + rest), self.input

    def at_input(self, chw) -> "Spec":
        """`replace(self, input=chw)`, its content key derived from this one's (only the input differs):
        a size search asks for many inputs of one structure."""
        new = replace(self, input=tuple(chw))
        cached.seed(new, "content_key", (self.content_key[0], new.input))
        return new

    def normalization(self) -> tuple:
        """(mean, std) per input channel that images get before the model: `normalize:` or the default."""
        return self.normalize or default_normalization(self.input[0])

    def stage(self, sid: str) -> Stage:
        for st in self.stages:
            if st.id == sid:
                return st
        raise KeyError(sid)

    def with_rows(self, fn) -> "Spec":
        """A copy with every row replaced by fn(stage, index, row) (None drops the row). A stage whose
        rows all come back as they were is kept as it is (the build remembers per Stage and Row)."""
        stages = []
        for st in self.stages:
            rows = tuple(r for r in (fn(st, i, row) for i, row in enumerate(st.rows)) if r is not None)
            same = len(rows) == len(st.rows) and all(a is b for a, b in zip(rows, st.rows))
            stages.append(st if same else replace(st, rows=rows))
        return replace(self, stages=tuple(stages))


MAX_DIM = 99999  # the largest H or W `--input CxHxW` takes (five digits)


def scale_channels(c: int, width: Width, mode: str = "normal") -> int:
    """The spec's width convention applied to one channel count."""
    if mode == "fixed":
        return c
    a = max(1.0, width.multiplier) if mode == "up" else width.multiplier
    d = width.divisor
    if width.round == "nearest":
        return make_divisible(c * a, d)
    if width.round == "ceil":
        return math.ceil(c * a / d - 1e-9) * d
    return int(c * a + 1e-9) // d * d


_REST = tuple(f for f in Spec.__dataclass_fields__ if f not in ("input", "stages"))  # Spec.content_key's "rest"
_STAGE = tuple(f for f in Stage.__dataclass_fields__ if f != "rows")


def _joined(parts: list) -> str:
    """The parts as one string, each after its length (so no two lists of parts join alike)."""
    return "".join([f"{len(p)}:{p}" for p in parts])


def parse_input(value, mark=None) -> tuple:
    """'3x512x512' or [3, 512, 512] -> (3, 512, 512)."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{1,5})\s*[xX,]\s*(\d{1,5})\s*[xX,]\s*(\d{1,5})\s*", value)
        if not m:
            raise SpecError(f"input '{value}' must be CxHxW, e.g. 3x512x512", mark)
        value = [int(g) for g in m.groups()]
    dims = tuple(value)
    if len(dims) != 3 or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in dims):
        raise SpecError(f"input {list(dims)} must be three positive integers C, H, W", mark)
    return dims


def _ref(value) -> tuple | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _header(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)


def load(file, variables: dict | None = None, text: str | None = None, chain: tuple = (),
         var_marks: dict | None = None, documents=None) -> Spec:
    """Read, schema-validate and decode a spec file. `variables` override its `vars`;
    `chain` is the files importing this one (outermost first), to refuse cycles; `var_marks`
    says where an importing spec set each variable, so errors point there. `documents`: a
    workspace's parsed documents by (file, text) (decode only reads them)."""
    text = yamlio.read_text(file) if text is None else text  # read once: a pipe cannot be read twice
    documents, key = {} if documents is None else documents, (str(file), text)
    doc = documents.get(key)
    if doc is None:
        doc = documents[key] = _document(*key)
    spec = decode(doc, variables, _header(text), chain, var_marks, documents)
    return replace(spec, sources=((doc.file, hashlib.sha256(text.encode()).hexdigest()),) + spec.sources)


def _document(file: str, text: str) -> yamlio.Document:
    """The parsed, schema-checked document."""
    doc = yamlio.load(file, text)
    if not isinstance(doc.data, dict):
        raise SpecError(f"{doc.file}:1:1: a spec is a mapping with 'name', 'input' and 'stages', "
                        f"not a {type(doc.data).__name__}")
    validate_schema(doc)
    return doc


def decode(doc: yamlio.Document, variables: dict | None = None, header: str = "", chain: tuple = (),
           var_marks: dict | None = None, documents=None) -> Spec:
    d = doc.data
    vars_ = dict(d.get("vars", {}))
    for name, value in (variables or {}).items():
        if name not in vars_:
            who = f"import {doc.file}: vars.{name}" if var_marks else f"--var {name}"
            raise SpecError(f"{who}: the spec has no variable '{name}' (it has: {', '.join(vars_) or 'none'})"
                            f"{did_you_mean(name, vars_)}; set its stages' fields with the import's defaults:",
                            (var_marks or {}).get(name) or doc.mark(("vars",)))
        vars_[name] = value
    lib = library(d.get("blocks", {}), doc)
    stages, seen, blocks, sources = [], set(), dict(d.get("blocks", {})), []
    for si, st in enumerate(d["stages"]):
        if "import" in st:
            importer = Importer(chain, partial(load, documents=documents), library)
            new, imported = import_stages(doc, si, st, vars_, importer)
            _merge_blocks(blocks, imported.blocks, doc.mark(("stages", si, "import")))
            sources.extend(imported.sources)
        else:
            new = [_decode_stage(doc, si, st, lib)]
        for stage in new:
            if stage.id in seen:
                raise SpecError(f"stage id '{stage.id}' is used twice", stage.mark or doc.mark(("stages", si, "id")))
            seen.add(stage.id)
            stages.append(stage)
    w = d.get("width", {})
    return Spec(
        name=d["name"], input=parse_input(d["input"], doc.mark(("input",))), stages=tuple(stages),
        vars=vars_, width=Width(float(w.get("multiplier", 1.0)), w.get("round", "floor"), w.get("divisor", 1)),
        blocks=blocks, outputs=_ref(d.get("outputs")), grouping=decode_grouping(doc), doc=d.get("doc"), file=doc.file,
        header=header, mark=doc.mark(()), input_mark=doc.mark(("input",)), sources=tuple(sources),
        normalize=decode_normalize(d, parse_input(d["input"])[0], doc.mark(("normalize",))))


def _merge_blocks(blocks: dict, imported: dict, mark) -> None:
    for name, raw in imported.items():
        if name in blocks and blocks[name] != raw:
            raise SpecError(f"block '{name}' is defined differently here and in an imported spec; rename one", mark)
        blocks[name] = raw


def _decode_stage(doc, si, st, lib) -> Stage:
    path = ("stages", si)
    for key in ("stages", "upto", "vars"):
        if key in st:
            raise SpecError(f"stage '{st['id']}': `{key}:` selects from an imported spec; it needs `import:`",
                            doc.mark(path + (key,)))
    if "rows" not in st:
        raise SpecError(f"stage '{st['id']}' needs `rows:` (a table) or `import:` (another spec's stages)",
                        doc.mark(path))
    columns = tuple(st["columns"]) if "columns" in st else None
    rows = tuple(_decode_row(doc, path + ("rows", ri), row, columns, st.get("defaults", {}), lib)
                 for ri, row in enumerate(st["rows"]))
    return Stage(st["id"], rows, columns, dict(st.get("defaults", {})), _ref(st.get("from")),
                 st.get("doc"), doc.mark(path), st.get("output_stride"), dict(st.get("taps", {})),
                 {k: doc.mark(path + (k,)) for k in ("output_stride", "taps") if k in st})


def _row_fields(doc, path, row, columns) -> tuple[dict, dict, dict, str]:
    """(fields, value marks, key marks, style) of a row written as a table row or a mapping."""
    mark = doc.mark(path)
    if not isinstance(row, list):
        return (dict(row), {k: doc.mark(path + (k,)) for k in row}, {k: doc.key_mark(path + (k,)) for k in row},
                "dict")
    if columns is None:
        raise SpecError("a row written as a list needs the stage's `columns:` header "
                        "(e.g. columns: [op, t, c, n, s]); or write the row as a mapping", mark)
    values, extra = (row[:-1], row[-1]) if len(row) > 1 and isinstance(row[-1], dict) else (row, {})
    if len(values) > len(columns):
        raise SpecError(f"row has {len(values)} values but the stage has {len(columns)} columns "
                        f"({', '.join(columns)})", doc.mark(path + (len(columns),)))
    fields = dict(zip(columns, values))
    marks, key_marks = {c: doc.mark(path + (i,)) for i, c in enumerate(columns[: len(values)])}, {}
    for k, v in extra.items():
        if k in fields:
            raise SpecError(f"field '{k}' is given twice (column and extra)", doc.mark(path + (len(values), k)))
        fields[k] = v
        marks[k] = doc.mark(path + (len(values), k))
        key_marks[k] = doc.key_mark(path + (len(values), k))
    return fields, marks, key_marks, "list"


def _decode_row(doc, path, row, columns, defaults, lib) -> Row:
    mark = doc.mark(path)
    fields, marks, key_marks, style = _row_fields(doc, path, row, columns)
    op = fields.pop("op")
    if not isinstance(op, str):
        raise SpecError(f"op must be a name, got {op!r}", marks.get("op", mark))
    params = lib.params_of(op, marks.get("op", mark))
    for key, value in defaults.items():
        if key in params and key not in fields:
            fields[key] = value
    special = {k: fields.pop(k) for k in ROW_KEYS[1:] if k in fields}
    for key in fields:
        if key not in params:
            allowed = list(params) + list(ROW_KEYS[1:])
            raise SpecError(f"unknown column '{key}' for {op} (allowed: {', '.join(allowed)})"
                            f"{did_you_mean(key, allowed)}", key_marks.get(key, marks.get(key, mark)))
    for name, p in params.items():
        if p.required and name not in fields:
            raise SpecError(f"{op} needs '{name}' ({p.doc or p.type})", mark)
    n, width, rid, frm = _specials(special, marks, mark)
    for name, value in fields.items():
        lib.check_value(op, params[name], value, marks.get(name, mark))
    return Row(op, fields, n, rid, _ref(frm), width, special.get("doc"), style, mark, marks)


def _specials(special: dict, marks: dict, mark) -> tuple:
    """A row's n, width, id and from, checked."""
    n = special.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SpecError(f"repeats n must be an integer >= 1, got {n!r}", marks.get("n", mark))
    if n > MAX_REPEATS:
        raise SpecError(f"repeats n={n} is more than {MAX_REPEATS}; no published network is that deep",
                        marks.get("n", mark))
    width = special.get("width", "normal")
    if width not in WIDTH_MODES:
        raise SpecError(f"width must be one of {', '.join(WIDTH_MODES)}, got {width!r}"
                        f"{did_you_mean(width, WIDTH_MODES)}", marks.get("width", mark))
    rid = special.get("id")
    if rid is not None and (not isinstance(rid, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", rid)):
        raise SpecError(f"row id {rid!r} must be a name (letters, digits, _)", marks.get("id", mark))
    frm = special.get("from")
    if frm is not None and not (isinstance(frm, str) or (isinstance(frm, list) and frm
                                                         and all(isinstance(f, str) for f in frm))):
        raise SpecError(f"from must be a name or a list of names, got {frm!r}", marks.get("from", mark))
    return n, width, rid, frm
