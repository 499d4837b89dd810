"""Blocks: composites of primitives, defined in YAML (archc/stdlib.yaml and a
spec's own `blocks:`). This module reads and checks definitions; build.py
expands them into IR nodes."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from archc.errors import SpecError, did_you_mean
from archc.lang import yamlio
from archc.lang.expr import is_expr
from archc.lang.schema import schema, validate_schema
from archc.ops import OPS, REQUIRED, TYPES, Param, check_param


@dataclass(frozen=True)
class Block:
    name: str
    doc: str
    params: dict  # name -> Param
    inputs: tuple
    lets: dict
    body: tuple  # raw step dicts
    out: str | None
    example: str
    source: str  # "stdlib" or the spec file


STEP_KEYS = ("id", "op", "from", "when", "for", "steps", "shared")


@dataclass(frozen=True)
class Skipped:
    """A block step with several inputs that `when:` skipped: no later step may name it (which input?)."""

    sid: str

    def error(self, name: str, mark) -> SpecError:
        return SpecError(f"from: '{name}' names a step of several inputs that its `when:` skipped here; name one "
                         f"of its inputs, or add a step with the opposite `when:`", mark)


def _param(name, decl) -> Param:
    if isinstance(decl, str) and decl in TYPES:
        return Param(name, decl)
    if isinstance(decl, dict) and "type" in decl:
        return Param(name, decl["type"], decl.get("default", REQUIRED), tuple(decl.get("choices", ())),
                     decl.get("doc", ""), decl.get("min"))
    kind = {bool: "bool", int: "int", float: "float", str: "str", list: "list"}.get(type(decl), "any")
    return Param(name, "any" if is_expr(decl) else kind, decl)


def _block(name, raw, source, doc) -> Block:
    params = {}
    for pname, decl in raw.get("params", {}).items():
        p = _param(pname, decl)
        if p.type not in TYPES:
            raise SpecError(f"block {name}: parameter '{pname}' has unknown type '{p.type}' "
                            f"(types: {', '.join(TYPES)})", doc.mark(("blocks", name, "params", pname)))
        params[pname] = p
    return Block(name, " ".join(raw.get("doc", "").split()), params, tuple(raw.get("inputs", ["in"])),
                 dict(raw.get("let", {})), tuple(raw["body"]), raw.get("out"), raw.get("example", ""), source)


def stdlib_schema() -> dict:
    """The schema of stdlib.yaml: a mapping of blocks, each as a spec's own block."""
    return {"$defs": schema()["$defs"], "type": "object",
            "properties": {"blocks": {"type": "object", "additionalProperties": {"$ref": "#/$defs/block"}}}}


@lru_cache(maxsize=1)
def stdlib() -> dict:
    text = resources.files("archc.lang").joinpath("stdlib.yaml").read_text()
    doc = yamlio.load("archc/lang/stdlib.yaml", text, packaged=True)
    validate_schema(doc, stdlib_schema())
    return {name: _block(name, raw, "stdlib", doc) for name, raw in doc.data["blocks"].items()}


class Library:
    """The ops a spec may use: primitives, the stdlib blocks and the spec's own blocks."""

    def __init__(self, user: dict | None = None, doc=None):
        self.blocks = dict(stdlib())
        for name, raw in (user or {}).items():
            if name in OPS:
                raise SpecError(f"block '{name}' has the name of a primitive op; rename it",
                                doc.mark(("blocks", name)) if doc else None)
            self.blocks[name] = _block(name, raw, doc.file if doc else "<spec>", doc)

    def names(self) -> list[str]:
        return sorted(OPS) + sorted(self.blocks)

    def params_of(self, op: str, mark=None) -> dict:
        if op in OPS:
            return OPS[op].params
        if op in self.blocks:
            return self.blocks[op].params
        raise SpecError(f"unknown op '{op}' (known: {', '.join(self.names())}){did_you_mean(op, self.names())}",
                        mark)

    def check_value(self, op, param: Param, value, mark=None) -> None:
        if is_expr(value):
            return
        problem = check_param(param, value)
        if problem:
            raise SpecError(f"{op}: {problem}", mark)


def strings_in(value):
    """Every string anywhere in a block definition (dict keys too; a Param's default): what a question
    about the names a block's expressions can read looks at."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(k)
            yield from strings_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings_in(v)
    elif hasattr(value, "default"):  # a Param
        yield from strings_in(value.default)


@lru_cache(maxsize=1)
def stdlib_strings() -> tuple:
    """`strings_in` of every standard block (parameters, lets, body, output)."""
    return tuple(strings_in([(b.params, b.lets, b.body, b.out) for b in stdlib().values()]))


def library(user: dict | None = None, doc=None) -> Library:
    return Library(user, doc)
