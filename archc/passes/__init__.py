"""Passes: named, typed Spec -> Spec rewrites. One file per pass, one frozen
dataclass whose fields are its arguments. Because a pass rewrites the Spec, its
result can always be written back as YAML and compiles to the same graph.

    --pass width=0.125              recipe: - width: 0.125
    --pass groups=4,shuffle=true    recipe: - groups: {g: 4, shuffle: true}
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Callable, ClassVar

from archc.errors import ArchcError, PassError
from archc.errors import did_you_mean
from archc.lang.spec import Spec
from archc.ir.graph import Graph
from archc.ir.workspace import Workspace

REGISTRY: dict[str, type["Pass"]] = {}  # name -> pass class, filled as each pass module is imported
GraphOf = Callable[[Spec], Graph]  # what a pass is handed to build a spec (a workspace remembers the graphs)


def register(cls):
    REGISTRY[cls.name] = cls
    return cls


@dataclass(frozen=True)
class Pass:
    """Base of all passes. Subclasses set `name`, declare fields, implement apply()."""

    name: ClassVar[str] = ""
    structural: ClassVar[bool] = True  # False: applied after lowering (quantize), not written to the spec
    has_notes: ClassVar[bool] = False  # True: notes() reads the graph before the pass, so build it

    def apply(self, spec: Spec, graph_of: GraphOf) -> Spec:
        """The rewritten spec; `graph_of(spec)` gives a spec's graph (or raises its refusal)."""
        raise NotImplementedError

    def notes(self, before, after) -> list:
        """Lines worth telling the user, given the graphs before and after this pass."""
        return []

    def describe(self) -> str:
        """The `--pass` text that recreates this pass."""
        return self.text

    @cached_property
    def text(self) -> str:
        """`describe()`, worked out once (a pass is a frozen value)."""
        fields = dataclasses.fields(self)
        parts = [f"{self.name}={_fmt(getattr(self, fields[0].name))}"] if fields else [self.name]
        parts += [f"{f.name}={_fmt(getattr(self, f.name))}" for f in fields[1:]
                  if getattr(self, f.name) != f.default]
        return ",".join(parts)

    @classmethod
    def from_args(cls, positional, named: dict) -> "Pass":
        hints = _hints(cls)
        fields = [f for f in dataclasses.fields(cls)]
        names = [f.name for f in fields]
        values = dict(named)
        if positional is not None:
            if not fields:
                raise PassError(f"pass '{cls.name}' takes no value")
            if fields[0].name in values:
                raise PassError(f"pass '{cls.name}': '{fields[0].name}' given twice")
            values[fields[0].name] = positional
        for key in values:
            if key not in names:
                raise PassError(f"pass '{cls.name}' has no argument '{key}' (arguments: {', '.join(names)})"
                                f"{did_you_mean(key, names)}")
        converted = {k: _convert(cls.name, k, v, hints[k]) for k, v in values.items()}
        missing = [f.name for f in fields if f.name not in converted and f.default is dataclasses.MISSING]
        if missing:
            raise PassError(f"pass '{cls.name}' needs a value for '{missing[0]}', e.g. --pass {cls.name}=...")
        try:
            return cls(**converted)
        except (TypeError, ValueError) as exc:
            raise PassError(f"pass '{cls.name}': {exc}") from None


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


@lru_cache(maxsize=None)
def _hints(cls) -> MappingProxyType:
    """A pass class's field types, resolved once (typing evaluates the annotations' text each call)."""
    return MappingProxyType(typing.get_type_hints(cls))


def _convert(pname, key, value, hint):
    """Turn a string (from --pass) or YAML scalar into the field's declared type."""
    args = typing.get_args(hint)
    if args and type(None) in args:  # Optional[X]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "")):
            return None
        hint = next(a for a in args if a is not type(None))
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "1", "yes", "on"):
                return True
            if str(value).lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value) if not isinstance(value, str) else int(value.strip())
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
            if out != out or out in (float("inf"), float("-inf")):
                raise ValueError
            return out
        if hint is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value).strip()
    except (ValueError, TypeError):
        want = {bool: "true or false", int: "an integer", float: "a number", str: "a name"}.get(hint, str(hint))
        raise PassError(f"pass '{pname}': {key}={value!r} is not {want}") from None
    return value


@lru_cache(maxsize=1024)
def parse_pass(text: str) -> Pass:
    """'width=0.125' or 'groups=4,shuffle=true' -> a Pass (remembered: passes are frozen values)."""
    _load_all()
    text = text.strip()
    head, _, rest = text.partition(",")
    name, sep, value = head.partition("=")
    name = name.strip()
    if name not in REGISTRY:
        raise PassError(f"unknown pass '{name}' (passes: {', '.join(sorted(REGISTRY))}){did_you_mean(name, REGISTRY)}")
    named = {}
    for part in filter(None, (p.strip() for p in rest.split(","))) if rest else ():
        k, eq, v = part.partition("=")
        if not eq:
            raise PassError(f"pass '{name}': '{part}' should be KEY=VALUE")
        named[k.strip()] = v.strip()
    return REGISTRY[name].from_args(value.strip() if sep else None, named)


def from_recipe_item(item) -> Pass:
    """One recipe entry: `{width: 0.125}` or `{groups: {g: 4, shuffle: true}}` (or a --pass string)."""
    _load_all()
    if isinstance(item, str):
        return parse_pass(item)
    if not isinstance(item, dict) or len(item) != 1:
        raise PassError(f"a recipe entry is one `name: value` mapping, got {item!r}")
    (name, value), = item.items()
    if name not in REGISTRY:
        raise PassError(f"unknown pass '{name}' (passes: {', '.join(sorted(REGISTRY))}){did_you_mean(name, REGISTRY)}")
    if isinstance(value, dict):
        return REGISTRY[name].from_args(None, value)
    return REGISTRY[name].from_args(value, {})


def load_recipe(path) -> list[Pass]:
    """A passes/*.yaml recipe: a YAML list of passes, applied in order."""
    from archc.lang import yamlio

    doc = yamlio.load(path)
    items = doc.data.get("passes") if isinstance(doc.data, dict) else doc.data
    if not isinstance(items, list):
        raise PassError(f"{path}: a recipe is a YAML list of passes, e.g. '- width: 0.125'")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(from_recipe_item(item))
        except ArchcError as exc:
            raise PassError(exc.message, doc.mark(("passes", i) if isinstance(doc.data, dict) else (i,))) from None
    return out


def as_pass(p) -> Pass:
    return p if isinstance(p, Pass) else parse_pass(p)


def run_pipeline(spec: Spec, passes, notes: list | None = None, before: tuple = (), workspace=None) -> Spec:
    """Apply structural passes in order and check that the result builds; when a pass or the result fails,
    apply them again one at a time, building the spec after each, so that the error names the first pass
    whose result does not build, its position and the passes before it. What the passes have to report
    (convs left ungrouped, MAC changes) goes to `notes` (None: not worked out). `before`: passes already
    applied to `spec` (a resumed pipeline), for the messages. `workspace` (archc.ir.workspace.Workspace):
    where graphs and pass results are remembered (a fresh one when not given).
    Only the result is built when all goes well: a search's candidate went through about four full builds
    of specs nobody uses (benchmarks/search_speed.md)."""
    ws = workspace if workspace is not None else Workspace()
    steps = [p for p in (as_pass(p) for p in passes) if p.structural]
    try:
        specs = [spec]
        for p in steps:
            specs.append(ws.applied(p, specs[-1]))
        ws.graph(specs[-1])
        said = [f"{_shown(p)}: {line}" for i, p in enumerate(steps) if p.has_notes and notes is not None
                for line in p.notes(ws.graph(specs[i]), ws.graph(specs[i + 1]))]  # these steps' graphs: built
    except ArchcError:
        return _one_by_one(spec, steps, notes, before, ws)  # raises, naming the pass
    if notes is not None:
        notes.extend(said)
    return specs[-1]


def _one_by_one(spec: Spec, steps: list, notes: list | None, before: tuple, ws) -> Spec:
    """The passes applied one at a time, the spec built after each: the first failure raised, naming its pass."""
    done: list[str] = list(before)
    graph = None
    for i, p in enumerate(steps, start=len(before)):
        try:
            new = ws.applied(p, spec)
            after = ws.graph(new)
            said = p.notes(graph or ws.graph(spec), after) if p.has_notes and notes is not None else []
        except ArchcError as exc:
            if graph is None:
                ws.graph(spec)  # a spec broken before any pass is its own error, not the pass's
            where = f" after {', '.join(done)}" if done else ""
            shown = _shown(p)
            raise PassError(f"{shown}{where}: {exc.message}" if shown.startswith("--input") else
                            f"pass {i + 1} '{shown}'{where}: {exc.message}", exc.mark) from None
        spec, graph = new, after
        done.append(p.describe())
        if notes is not None:
            notes.extend(f"{_shown(p)}: {line}" for line in said)
    return spec


def _shown(p) -> str:
    """How the user wrote the pass: `--input CxHxW` is the input pass with strict=false, typed by no one."""
    return f"--input {p.size}" if p.name == "input" and getattr(p, "strict", True) is False else p.describe()


def selector(pname: str, text):
    """A pass's `where=` argument, parsed (None stays None)."""
    from archc.lang.select import Selector

    return None if text is None else Selector.parse(text, f"pass '{pname}': where")


@lru_cache(maxsize=1)
def _load_all() -> None:
    """Import every pass module in this package (each registers itself), once."""
    import importlib

    for f in sorted(Path(__file__).parent.glob("*.py")):
        if f.stem != "__init__":
            importlib.import_module(f"{__name__}.{f.stem}")


def registry() -> dict[str, type[Pass]]:
    _load_all()
    return dict(REGISTRY)


def catalog() -> list[tuple]:
    """(name, arguments, what it does, usage lines) of every registered pass, for `archc passes`."""
    out = []
    for name, cls in sorted(registry().items()):
        hints = typing.get_type_hints(cls)
        args = ", ".join(f"{f.name}: {_type_name(hints[f.name])}"
                         + ("" if f.default is dataclasses.MISSING else f" = {_fmt(f.default)}")
                         for f in dataclasses.fields(cls))
        doc = (cls.__doc__ or "").strip().splitlines()
        usage = [" ".join(line.split()) for line in doc if "--pass" in line]
        usage = [part.strip() for u in usage for part in u.replace(" recipe:", "\nrecipe:").splitlines()]
        out.append((name, args, _first_paragraph(doc), "\n".join(usage)))
    return out


def _first_paragraph(lines: list) -> str:
    """The docstring's opening paragraph as one line: a first line alone may stop mid-sentence."""
    head = []
    for line in lines:
        if not line.strip():
            break
        head.append(line.strip())
    return " ".join(head)


def _type_name(hint) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return (args[0] if args else hint).__name__
