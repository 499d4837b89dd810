"""Registry-driven: every op's and every block's `example:` and every pass docstring's
`--pass` line compiles, and its shapes and counts equal torch's and torchinfo's. Adding an
op, a block or a pass adds its case here by itself."""
from __future__ import annotations

import re

import pytest
import yaml
from crosscheck import archc_figures, forward_shapes, torchinfo_figures

from archc.compile import compile_spec
from archc.errors import ArchcError
from archc.lang.blocks import stdlib
from archc.ops import OPS
from archc.passes import catalog

EXAMPLES = {**{f"op:{n}": o.example for n, o in OPS.items() if o.example and n != "input"},  # input: a spec's top
            **{f"block:{n}": b.example for n, b in stdlib().items() if b.example}}
FINE, COARSE = {"op": "conv_bn_act", "c": 16, "k": 1}, {"op": "avgpool", "k": 4}  # 32x32 and 8x8 maps
INDEXED = {"op": "maxpool", "k": 2, "indices": True}  # a map and its indices, for unpooling


def example_row(text: str) -> dict:
    """The example as a mapping row; a table row takes its columns from the `# columns [...]` comment."""
    value = yaml.safe_load(text)
    if isinstance(value, list):
        comment = re.search(r"# columns \[(.*)\]", text)  # else: the block's parameters, in order
        columns = comment.group(1).split(", ") if comment else ["op", *stdlib()[value[0]].params]
        value = dict(zip(columns, value))
    return value


def layouts(row: dict):
    """Specs the example can sit in: its `from:` names made by a prelude (fine or coarse maps, both
    orders), or a flattening prelude for ops that need a vector."""
    names = row.get("from") or []
    preludes = [[]] if not names else [[FINE, FINE], [FINE, COARSE], [COARSE, FINE]][: 3 if len(names) == 2 else 1]
    for kinds in preludes:
        made = [dict(k, id=f"p{i}", **{"from": "input"}) for i, k in enumerate(kinds[: len(names)] or [])]
        body = dict(row, **({"from": [m["id"] for m in made]} if names else {}))
        yield [{"id": "pre", "rows": made}] * bool(made) + [{"id": "ex", "rows": [body]}]
    if len(names) == 2:  # [x, POOL]: both the pooled map and the pool that holds its indices
        pool = dict(INDEXED, id="p0", **{"from": "input"})
        yield [{"id": "pre", "rows": [pool]}, {"id": "ex", "rows": [dict(row, **{"from": ["p0", "p0"]})]}]
    if len(names) == 2:  # [tokens, map]: a token sequence and the map it came from (attention, mix_ffn)
        made = [dict(FINE, id="p1", **{"from": "input"}), {"id": "p0", "op": "tokens", "from": "p1"}]
        yield [{"id": "pre", "rows": made}, {"id": "ex", "rows": [dict(row, **{"from": ["p0", "p1"]})]}]
    if not names:
        flat = [{"op": "adaptive_avgpool", "size": 1}, {"op": "flatten"}]
        yield [{"id": "pre", "rows": flat}, {"id": "ex", "rows": [row]}]
        for prelude in ([{"op": "tokens"}], [{"op": "tokens"}, {"op": "heads", "heads": 2}]):  # sequences, heads
            yield [{"id": "pre", "rows": prelude}, {"id": "ex", "rows": [row]}]


def first_that_compiles(tmp_path, row: dict):
    errors = []
    for stages in layouts(row):
        for channels in (16, 3):  # a stem (ENet's initial block) expects an image
            spec = {"name": "example", "input": [channels, 32, 32], "vars": {"classes": 5}, "stages": stages}
            (tmp_path / "ex.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
            try:
                return compile_spec(tmp_path / "ex.yaml")
            except ArchcError as exc:
                errors.append(exc.message)
    raise AssertionError(f"the example compiles in no layout: {errors}")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_compiles_and_matches_torch(tmp_path, name):
    c = first_that_compiles(tmp_path, example_row(EXAMPLES[name]))
    expected, seen = forward_shapes(c.graph)
    assert expected == seen
    assert archc_figures(c.graph) == torchinfo_figures(c.graph)


PASS_LINES = sorted({line.split()[1] for _, _, _, usage in catalog() for line in usage.splitlines()
                     if line.startswith("--pass ")})


SPECS = ["fastscnn", "mobilenetv2", "mobilenetv3_small", "essnetb", "erfnet"]  # tried in this order


@pytest.mark.parametrize("line", PASS_LINES)
def test_every_pass_docstring_line_compiles_and_matches_torch(line):
    """On the first shipped spec it applies to, at a small input unless the line is itself an input."""
    extra = [] if line.startswith("input=") else ["input=3x128x128,strict=false"]
    errors = []
    for name in SPECS:
        try:
            c = compile_spec(f"specs/{name}.yaml", [line, *extra])
            break
        except ArchcError as exc:
            errors.append(f"{name}: {exc.message}")
    else:
        raise AssertionError(f"--pass {line} compiles on no shipped spec: {errors}")
    expected, seen = forward_shapes(c.graph)
    assert expected == seen
    assert archc_figures(c.graph) == torchinfo_figures(c.graph)
