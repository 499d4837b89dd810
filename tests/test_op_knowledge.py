"""Per-op knowledge lives in the op's registry entry (archc/ops): outside ops/, code asks the entry
(OPS[name].grouped, .folds, .rescale, .part, .words, .look, .carry, ...) instead of comparing an op's name with a string.
This test finds such comparisons in archc/ (`node.op == "conv"`, `op in ("maxpool", "avgpool")`) and
fails on any not in ALLOWED, each with the reason it stays."""
from __future__ import annotations

import ast
from pathlib import Path

from archc.ops import OPS

ROOT = Path(__file__).resolve().parents[1] / "archc"
ALLOWED = {  # file -> how many comparisons, and why they stay
    "measure/latency_model.py": (3, "the model's cost kinds are its own categories of a runtime's costs (convs by "
                                 "how they use their MACs, resizes by NCHWc blocking), not knowledge of the op"),
    "train/gradual.py": (1, "the convs the groups pass changed (it groups convs only): dense 1 -> g groups"),
    "ir/reshape.py": (2, "the graph input's attributes are the spec's input size; the reshape's inner loop"),
    "passes/early_pool.py": (1, "recognises the avgpool stage the pass itself inserted (pooling again)"),
}


def _is_op(node) -> bool:
    """`op`, `x.op`, `op_name`: an expression holding an op's name."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name in ("op", "op_name")


def _names(node) -> set:
    """Registered op names among a constant or a literal tuple / list / set of constants."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return {i.value for i in items if isinstance(i, ast.Constant) and i.value in OPS}


def op_name_comparisons(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_op(s) for s in sides) and any(_names(s) for s in sides):
                found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_op_name_comparisons_outside_ops():
    counts = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith("ops/") and (found := op_name_comparisons(path)):
            counts[rel] = found
    extra = {f: c for f, c in counts.items() if len(c) > ALLOWED.get(f, (0,))[0]}
    assert not extra, f"op-name comparisons outside archc/ops (ask the op's registry entry instead): {extra}"
    stale = {f for f, (n, _) in ALLOWED.items() if len(counts.get(f, ())) < n}
    assert not stale, f"shrink ALLOWED: {stale}"


def test_the_finder_finds(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('if node.op == "conv" or op in ("maxpool", "x"):\n    pass\nif n.op == "call_module":\n    pass\n'
                 'if row.op == value:\n    pass\n')
    assert [line for line, _ in op_name_comparisons(f)] == [1, 1]


def test_the_registry_answers_what_the_comparisons_asked():
    assert OPS["conv"].grouped({"k": 1, "groups": 4}) and not OPS["conv"].grouped({"k": 3, "groups": 4})
    assert not OPS["conv"].grouped({"k": 1, "groups": 1}) and not OPS["deconv"].grouped({"k": 1, "groups": 4})
    assert [n for n, o in OPS.items() if o.folds] == ["bn"] and [n for n, o in OPS.items() if o.part] == ["slice"]
    assert OPS["resize"].rescale({"scale": 2, "mode": "nearest"}, 4) == {"scale": 8, "mode": "nearest"}
    assert OPS["resize"].rescale({"scale": "$s"}, 4) is None and OPS["resize"].rescale({"to": "input"}, 2) is None
    assert [n for n, o in OPS.items() if o.rescale is not None] == ["resize"]
    words = {n: o.words({"k": 3, "s": 2, "groups": 32, "fn": "relu6", "scale": 8, "size": 2}, 32, 32, (32, 8, 8))
             for n, o in OPS.items() if o.words is not None}
    assert words["conv"] == "dw conv 3x3 /2  32\u219232" and words["maxpool"] == "max pool 3x3 /2"
    assert words["act"] == "relu6" and words["resize"] == "resize x8 bilinear" and words["bn"] == "batch norm 32"
    assert OPS["conv"].look({"k": 1, "groups": 1}, 8) == "pointwise" and OPS["prelu"].look({}, 8) == "act"
