"""archc.lang.schema.conforms (the fast check run before jsonschema is imported) gives jsonschema's answer:
on every bundled spec, the stdlib, every file in tests/bad_specs/ and seeded random mutations of the
bundled specs (keys dropped and added, values replaced by values of other types and ranges)."""
from __future__ import annotations

import copy
import random
from pathlib import Path

import jsonschema
import pytest
import yaml

from archc.lang.schema import Unsupported, conforms, schema

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.yaml")) + sorted((ROOT / "tests" / "bad_specs").glob("*.yaml"))
VALUES = [0, -1, 1, 2, 1.0, 1.5, 0.0, 70000, True, False, None, "", "x", "conv", "op", "$a", "3x64x64",
          "bad name!", "a.b", "floor", "i in range(2)", [], ["op"], ["x", 1], [3, 64, 64], [0, 64, 64],
          {}, {"op": "conv"}, {"stride": 2}, {"id": "s"}, {"body": []}]


def _documents():
    for path in SPECS:
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            continue
        yield path.stem, data


def _nodes(data, path=()):
    yield path, data
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        yield from _nodes(value, path + (key,))


def _mutated(data, rng: random.Random):
    out = copy.deepcopy(data)
    path, node = rng.choice(list(_nodes(out)))
    if not path:
        return out
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    action = rng.randrange(4)
    if action == 0 and isinstance(node, (dict, list)) and node:  # drop a key or an item
        del node[rng.choice(list(node) if isinstance(node, dict) else range(len(node)))]
    elif action == 1 and isinstance(node, dict):
        node[rng.choice(["op", "id", "body", "stride", "stages", "bogus", "g", "when"])] = rng.choice(VALUES)
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
    return out


def _agree(data, sch) -> None:
    assert conforms(data, sch, sch) == jsonschema.Draft202012Validator(sch).is_valid(data), data


@pytest.mark.parametrize("name,data", list(_documents()), ids=lambda v: v if isinstance(v, str) else "")
def test_conforms_agrees_with_jsonschema(name, data):
    sch = schema()
    _agree(data, sch)
    rng = random.Random(name)
    for _ in range(60):
        _agree(_mutated(data, rng), sch)


def test_the_mutations_reach_both_answers():
    sch = schema()
    answers = {conforms(_mutated(data, random.Random(i)), sch, sch) for i, (_, data) in enumerate(_documents())}
    assert answers == {True, False}


def test_the_stdlib_conforms_and_an_unknown_keyword_is_left_to_jsonschema():
    from archc.lang import blocks

    blocks.stdlib()  # validated on load
    with pytest.raises(Unsupported):
        conforms({"a": 1}, {"type": "object", "minProperties": 1}, {})
