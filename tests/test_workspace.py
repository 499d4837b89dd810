"""The compiler core is pure and one workspace owns its memories (archc/ir/workspace.py): archc/ has no
module-level mutable cache, no `object.__setattr__` on a frozen value, no memo stuck onto another
object's `__dict__`, and every `lru_cache` is on the allow-list below (a constant read from the
package, or a pure function of its arguments whose result no caller mutates)."""
from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

from archc.compile import compile_spec
from archc.ir.workspace import FastPath, FullBuild, Workspace

ARCHC = Path(__file__).resolve().parent.parent / "archc"

# Module-level containers that are mutated after import, each a table filled as its module is imported
# (a registry) or process state that is not a memory of past answers.
MUTATED_TABLES = {
    ("ops/core.py", "OPS"): "the op registry: each @op entry adds itself as its module is imported",
    ("passes/__init__.py", "REGISTRY"): "the pass registry: each pass class adds itself as its module is imported",
    ("errors.py", "STOPS"): "the signals this process received (SIGINT, SIGTERM): process state, not a memo",
    ("cli/app.py", "STATE"): "the CLI's --debug flag, set once per invocation by its callback",
}

# functools caches: each a constant from the package or a pure function whose result is never mutated.
CACHED = {
    ("search/space.py", "schema"): "the packaged space schema (a constant)",
    ("lang/schema.py", "schema"): "the packaged spec schema (a constant)",
    ("lang/schema.py", "_prevalidated"): "a frozenset of the shipped documents' keys (packaged data, a constant)",
    ("lang/blocks.py", "stdlib"): "the packaged standard blocks (a constant)",
    ("lang/blocks.py", "stdlib_strings"): "a tuple of the standard blocks' strings (a constant)",
    ("lang/yamlio.py", "_constructor"): "one stateless YAML scalar constructor",
    ("lang/expr.py", "_parse"): "an expression's syntax tree, a pure function of its text, only read",
    ("ir/reshape.py", "_stdlib_free"): "a bool about the packaged standard blocks (a constant)",
    ("ir/templates.py", "_stdlib_names"): "a frozenset of the standard blocks' names (a constant)",
    ("train/layouts.py", "_table"): "a dataset layout's class table built from archc's own tables (a constant)",
    ("passes/__init__.py", "_hints"): "a pass class's field types, read-only (MappingProxyType)",
    ("passes/__init__.py", "parse_pass"): "a frozen Pass value, a pure function of its text",
    ("passes/__init__.py", "_load_all"): "imports the pass modules once (returns None)",
}

MUTATORS = {"append", "extend", "insert", "pop", "popitem", "clear", "update", "setdefault", "add", "discard",
            "remove", "__setitem__", "__delitem__"}
CONTAINERS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


def modules():
    for path in sorted(ARCHC.rglob("*.py")):
        yield path.relative_to(ARCHC).as_posix(), path.read_text(), ast.parse(path.read_text())


def module_containers(tree) -> set:
    """Names bound at module level to a dict, list or set (a display, a comprehension or a call)."""
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) and node.value is not None else []
        value = getattr(node, "value", None)
        made = isinstance(value, CONTAINERS) or (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                                                 and value.func.id in ("dict", "list", "set", "defaultdict"))
        if made:
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def mutated(tree, names: set) -> set:
    """Those of `names` that some function of the module changes (a method that mutates, an item
    assigned or deleted, or a `global` statement)."""
    out = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Global):
                out.update(n for n in node.names if n in names)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.attr in MUTATORS:
                out.add(node.func.value.id)
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                for t in getattr(node, "targets", None) or [getattr(node, "target", None)]:
                    if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
                        out.add(t.value.id)
    return out & names


def test_no_module_level_mutable_cache():
    found = {(rel, name) for rel, _, tree in modules() for name in mutated(tree, module_containers(tree))}
    assert found - set(MUTATED_TABLES) == set(), "a module-level container changed after import: " \
        "a cache belongs to the workspace (archc/ir/workspace.py), a constant table is never changed"


def test_every_functools_cache_is_on_the_allow_list():
    found = set()
    for rel, _, tree in modules():
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for deco in fn.decorator_list:
                    text = ast.unparse(deco)
                    if re.search(r"\b(lru_cache|cache)\b", text) and "cached_property" not in text:
                        found.add((rel, fn.name))
    assert found - set(CACHED) == set(), "a functools cache outside the allow-list: put the memory in the workspace"


def test_no_object_setattr_and_no_memo_stuck_onto_an_object():
    for rel, text, _ in modules():
        assert "object.__setattr__" not in text, rel
        assert not re.search(r"__dict__\.(get|setdefault)\(\s*['\"]_", text), rel
        assert not re.search(r"^_[A-Z_]+\s*(:\s*dict)?\s*=\s*\{\}", text, re.M), rel  # the old `_GRAPHS: dict = {}`


def test_the_check_finds_what_it_looks_for(tmp_path):
    """The AST check above is not blind: it flags a module-level dict filled by a function."""
    tree = ast.parse("_MEMO = {}\nKEEP: dict = {}\n\ndef f(k):\n    _MEMO[k] = 1\n    return KEEP.get(k)\n")
    assert mutated(tree, module_containers(tree)) == {"_MEMO"}
    tree = ast.parse("SEEN = []\n\ndef f(x):\n    SEEN.append(x)\n")
    assert mutated(tree, module_containers(tree)) == {"SEEN"}


def test_a_workspace_travels_empty_and_keeps_its_strategy():
    ws = Workspace()
    compile_spec("specs/fastscnn.yaml", ["width=0.5"], "3x96x96", workspace=ws)
    assert len(ws.graphs) and len(ws.specs)
    for fast, kind in ((True, FastPath), (False, FullBuild)):
        copy = pickle.loads(pickle.dumps(Workspace(fast) if not fast else ws))
        assert isinstance(copy.strategy, kind) and len(copy.graphs) == 0 and len(copy.specs) == 0


def test_a_sweep_owns_one_workspace_for_its_life():
    from archc.sweep.sweep import Sweep

    sweep = Sweep("specs/fastscnn.yaml", {"width": ["1", "0.5"]}, input="3x128x128", jobs=1)
    first = sweep.run()
    ws = sweep.workspace()
    made = ws.strategy.made
    assert made >= 1 and [r.status for r in first] == ["ok", "ok"]
    again = sweep.evaluate([{"width": "0.5", "input": "3x256x256"}])  # a new size of a known structure
    assert sweep.workspace() is ws and ws.strategy.made == made and again[0].status == "ok"
