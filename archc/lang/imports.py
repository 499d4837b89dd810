"""Spec composition: a stage written `import: FILE` takes stages of another spec.

    - id: backbone
      import: mobilenetv2.yaml        # relative to this spec
      stages: [features]              # which of its stages (default: all)
      upto: features.7                # the last row kept (default: the end)
      vars: {classes: $classes}       # its variables (default: its own values)
      output_stride: $output_stride   # past it, strides become dilations
      taps: {low: features.2}         # names for its intermediate outputs

The imported stages are decoded by their own file (errors name it), their
`$expressions` evaluated with their own variables, and then spliced in as if
written here, under their own ids: `features.3.0.expand.conv` is the same
module in the backbone and in the network that imports it. The import's id
names the last imported output. `import: archc:NAME` takes a bundled spec by
name. Imports may nest; a cycle, nesting deeper than MAX_DEPTH, or a file that
resolves (symlinks followed) outside the top spec's folder, the bundled library
and the folders in ARCHC_SPEC_PATH is an error: a spec is data, and must not
make archc read arbitrary files.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from archc.errors import SpecError, did_you_mean
from archc.lang import library
from archc.lang.expr import resolve

MAX_DEPTH = 8
TABLE_ONLY = ("rows", "columns", "from")


@dataclass(frozen=True)
class Importer:
    """What resolving an `import:` needs of the spec module, passed in so that this module needs nothing
    beside or above it: the files importing so far (`chain`, for the cycle check; empty at the top),
    `load` (reads a spec file) and `make_library(blocks)` (the ops a spec may use)."""

    chain: tuple
    load: Callable
    make_library: Callable


def import_stages(doc, si: int, st: dict, host_vars: dict, importer: Importer) -> tuple[list, object]:
    """The stages an `import:` stage stands for, and the imported Spec (its blocks, its sources)."""
    load, make_library = importer.load, importer.make_library
    path = ("stages", si)
    for key in TABLE_ONLY:
        if key in st:
            raise SpecError(f"stage '{st['id']}': an `import:` stage takes its rows from the imported spec; "
                            f"remove `{key}:`", doc.mark(path + (key,)))
    chain = importer.chain or (Path(doc.file).resolve(),)
    shown, real = _locate(doc.file, st["import"], chain, doc.mark(path + ("import",)))
    var_marks = {name: doc.mark(path + ("vars", name)) for name in st.get("vars", {})}
    spec = load(shown, _vars(st, host_vars, shown, doc, path), chain=chain + (real,), var_marks=var_marks)
    stages = _select(spec, st.get("stages"), doc.mark(path + ("stages",)))
    stages = _truncate(stages, st.get("upto"), doc.mark(path + ("upto",)))
    stages = [_literal(stage, spec.vars) for stage in stages]
    stages = _defaults(stages, st, host_vars, make_library(spec.blocks), doc, path)
    return _attach(stages, st, doc, path), spec


def _defaults(stages: list, st: dict, host_vars: dict, lib, doc, path) -> list:
    """The import's `defaults:` (e.g. {eps: 0.001}) on every imported row whose op takes them and that
    does not set them itself; evaluated with the importing spec's variables, errors pointing here."""
    for name, value in st.get("defaults", {}).items():
        mark = doc.mark(path + ("defaults", name))
        try:
            value = resolve(value, host_vars)
        except SpecError as exc:
            raise SpecError(f"defaults.{name}: {exc.message}", mark) from None
        takers = [(si, ri) for si, s in enumerate(stages) for ri, r in enumerate(s.rows)
                  if name in lib.params_of(r.op) and name not in r.marks]
        if not takers:
            raise SpecError(f"defaults.{name}: no imported row takes '{name}' without setting it itself", mark)
        for si, ri in takers:
            row = stages[si].rows[ri]
            lib.check_value(row.op, lib.params_of(row.op)[name], value, mark)
            row = replace(row, fields={**row.fields, name: value}, marks={**row.marks, name: mark})
            stages[si] = replace(stages[si], rows=stages[si].rows[:ri] + (row,) + stages[si].rows[ri + 1:])
    return stages


def _by_name(rel: str, mark) -> Path:
    """The bundled spec `archc:NAME` names."""
    name, specs = rel[len(library.PREFIX):], library.bundled()
    if name not in specs:
        raise SpecError(f"import '{rel}': no bundled spec '{name}' (bundled: {', '.join(specs)})"
                        f"{did_you_mean(name, specs)}", mark)
    return specs[name]


def _locate(host_file: str, rel, chain: tuple, mark) -> tuple[Path, Path]:
    """(path as shown in messages, resolved path) of an import, refusing escapes and cycles."""
    if not isinstance(rel, str) or not rel.strip():
        raise SpecError(f"import: expected a spec file name, got {rel!r}", mark)
    if rel.startswith(library.PREFIX):
        shown = _by_name(rel, mark)
    elif Path(rel).is_absolute():
        raise SpecError(f"import '{rel}': give a path relative to this spec (or archc:NAME for a bundled spec), "
                        f"not an absolute one", mark)
    else:
        shown = Path(host_file).parent / rel
    real = shown.resolve()
    roots = library.trusted_roots(chain[0].parent)
    if not any(real.is_relative_to(r) for r in roots):
        raise SpecError(f"import '{rel}' leads to {real}, outside {chain[0].parent} (the top spec's folder) and "
                        f"the bundled library; keep imported specs there, import a bundled one as archc:NAME, "
                        f"or list its folder in ARCHC_SPEC_PATH", mark)
    if real in chain:
        cycle = " -> ".join(p.name for p in chain + (real,))
        raise SpecError(f"import cycle {cycle}; a spec cannot import itself, directly or not", mark)
    if len(chain) > MAX_DEPTH:
        raise SpecError(f"import '{rel}': imports nest deeper than {MAX_DEPTH} levels", mark)
    if real.is_dir():
        raise SpecError(f"import '{rel}': {shown} is a directory; name a spec file inside it", mark)
    if not real.exists():
        raise SpecError(f"import '{rel}': no such spec file ({shown})", mark)
    return shown, real


def _vars(st: dict, host_vars: dict, shown: Path, doc, path) -> dict:
    """The import's `vars:`, evaluated with the importing spec's variables."""
    out = {}
    for name, value in st.get("vars", {}).items():
        mark = doc.mark(path + ("vars", name))
        try:
            out[name] = resolve(value, host_vars)
        except SpecError as exc:
            raise SpecError(f"import {shown.name}: vars.{name}: {exc.message}", mark) from None
    return out


def _select(spec, names, mark) -> list:
    known = [s.id for s in spec.stages]
    if names is None:
        return list(spec.stages)
    for name in names:
        if name not in known:
            raise SpecError(f"import {Path(spec.file).name}: it has no stage '{name}' (stages: {', '.join(known)})"
                            f"{did_you_mean(name, known)}", mark)
    return [s for s in spec.stages if s.id in names]


def _truncate(stages: list, upto, mark) -> list:
    """Keep the stages up to `upto` ('stage' or 'stage.row', row by id or index), inclusive."""
    if upto is None:
        return stages
    sid, _, key = upto.partition(".")
    for i, stage in enumerate(stages):
        if stage.id != sid:
            continue
        if not key:
            return stages[: i + 1]
        keys = [row.id or str(ri) for ri, row in enumerate(stage.rows)]
        if key not in keys:
            raise SpecError(f"upto: stage '{sid}' has no row '{key}' (rows: {', '.join(keys)})", mark)
        return stages[:i] + [replace(stage, rows=stage.rows[: keys.index(key) + 1])]
    raise SpecError(f"upto: '{upto}' names no imported stage (stages: {', '.join(s.id for s in stages)})", mark)


def _literal(stage, variables: dict):
    """The stage with its `$expressions` evaluated in its own spec's variables, so that it
    builds the same under any importing spec."""
    def value(v, mark):
        try:
            return resolve(v, variables)
        except SpecError as exc:
            raise SpecError(exc.message, exc.mark or mark) from None

    rows = tuple(replace(r, fields={k: value(v, r.field_mark(k)) for k, v in r.fields.items()}) for r in stage.rows)
    return replace(stage, rows=rows, output_stride=value(stage.output_stride, stage.mark))


def _attach(stages: list, st: dict, doc, path) -> list:
    """Give every imported stage the import's output_stride, and the last its taps and the import's id."""
    if "output_stride" in st:
        mark = doc.mark(path + ("output_stride",))
        stages = [replace(s, output_stride=st["output_stride"], marks={**s.marks, "output_stride": mark})
                  for s in stages]
    last = stages[-1]
    taps = dict(last.taps)
    for name, ref in st.get("taps", {}).items():
        if name in taps:
            raise SpecError(f"tap '{name}' is already defined by the imported spec", doc.mark(path + ("taps", name)))
        taps[name] = ref
    if st["id"] != last.id:
        taps[st["id"]] = last.id
    marks = {**last.marks, "taps": doc.mark(path + ("taps",) if "taps" in st else path)}
    return stages[:-1] + [replace(last, taps=taps, marks=marks)]
