"""Block templates: a block's expansion, recorded once and replayed (exact).

What a block expands to follows from its definition, its arguments, its inputs' shapes (and
which inputs are the same node), the input channels of its row's outermost block and the
spec's variables and blocks, and from nothing else, unless it looks outside itself: a `from:`
or `to:` naming a spec name or a node path, or weights shared across a loop. So the builder
records each expansion that did not look outside as its primitives relative to the block's
prefix and inputs; the same block with the same arguments at the same input shapes, later in
the same build (the next repeat) or in any later build of the same workspace (the next configuration
of a sweep or search, the same stage under another width elsewhere), is replayed: the same
recipe entries and nodes under the new prefix and provenance, each node's stride worked out
again by its op's rule (it reads the inputs' strides, which the key does not fix). Replaying
skips expression evaluation and parameter checks, whose answers the key fixes; the graph's
own checks (a name used twice, an input that does not exist, the node limit) run as in a
full expansion. The templates live in a `Templates` store that a workspace's fast path owns
(archc/ir/workspace.py); tests/test_templates.py builds every bundled spec with and without
templates and compares the graphs and recipes.
"""
from __future__ import annotations

import re
from functools import lru_cache

from archc.errors import GraphError
from archc.ir.graph import MAX_NODES, Node
from archc.lang.blocks import stdlib_strings, strings_in
from archc.ops import OPS

KEPT = 4096  # templates a store keeps, least recently used dropped first
NAME = re.compile(r"[A-Za-z_]\w*")


class Templates:
    """The templates recorded so far, owned by a workspace's fast path (archc/ir/workspace.py): the
    expansions by key, and the numbers given to the spec contexts the keys hold."""

    def __init__(self, kept: int = KEPT):
        self.kept, self.store, self.contexts, self.user_names = kept, {}, {}, {}

    def context(self, spec) -> int:
        """What a spec adds to every block's expansion, as a number: its own blocks, and its variables
        that some block's text names (a block reads a variable only by naming it; `classes` in a row's
        `c: $classes` is no block's business)."""
        blocks = repr(spec.blocks)
        names = self.user_names.get(blocks)
        if names is None:
            names = self.user_names[blocks] = _names(spec.blocks)
        read = _stdlib_names() | names
        text = (blocks, repr([(k, v) for k, v in sorted(spec.vars.items()) if k in read]))
        if len(self.contexts) > self.kept and text not in self.contexts:
            self.contexts.clear()
            self.user_names.clear()
            self.store.clear()  # their numbers could be given out again
        return self.contexts.setdefault(text, len(self.contexts))

    def recall(self, k):
        found = self.store.pop(k, None)
        if found is not None:
            self.store[k] = found  # (re)inserted last: the dict's order is the LRU order
        return found

    def keep(self, k, template) -> None:
        if template is None:
            return
        self.store[k] = template
        if len(self.store) > self.kept:
            self.store.pop(next(iter(self.store)))


@lru_cache(maxsize=1)
def _stdlib_names() -> frozenset:
    return frozenset(_names(stdlib_strings()))


def _names(value) -> set:
    """Every identifier in every string inside `value` (lang.blocks.strings_in)."""
    return {name for text in strings_in(value) for name in NAME.findall(text)}


def expand(store: Templates, builder, block, args: dict, inputs: list, prefix: str, prov, share) -> str:
    """`builder.expand_block(...)`, replayed from `store` when the same expansion was recorded before."""
    k = key(builder, block, args, inputs, prov) if share is None and len(inputs) == len(block.inputs) else None
    found = k and store.recall(k)
    if found:
        return replay(builder, found, inputs, prefix, prov)
    start = (len(builder.graph.recipe), builder.outside)
    out = builder.expand_block(block, args, inputs, prefix, prov, share)
    if k:
        store.keep(k, record(builder, start, inputs, prefix, prov, out))
    return out


def key(builder, block, args: dict, inputs: list, prov):
    """The key of this expansion, or None when it cannot be one (an argument of no plain value)."""
    frozen = _freeze(args)
    if frozen is None:
        return None
    shapes = tuple([builder.graph.nodes[i].shape for i in inputs])
    return builder.context, block.name, frozen, shapes, tuple([inputs.index(i) for i in inputs]), prov.block_in


def record(builder, start: tuple, inputs: list, prefix: str, prov, out: str):
    """The expansion since `start` (recipe length, lookups outside so far) relative to `prefix` and
    `inputs`, or None when it looked outside itself or shares weights with a node outside it."""
    graph, (first, outside) = builder.graph, start
    if builder.outside != outside:
        return None
    head, cut, depth = prefix + ".", len(prefix) + 1, len(prov.roles)
    where = {name: i for i, name in reversed(list(enumerate(inputs)))}
    own, entries, split = set(), [], None
    for node_name, name, op, unbound, ins, refs, _mark in graph.recipe[first:]:
        rel = [_relative(i, own, where, cut) for i in ins] + [_relative(r, own, where, cut) for r in refs.values()]
        node = graph.nodes[name] if node_name is not None else None
        share = None if node is None or node.share is None else _relative(node.share, own, where, cut)
        if not name.startswith(head) or None in rel or (node is not None and node.share is not None
                                                         and type(share) is not str):
            return None
        spec_op = OPS[op]
        part = split is not None and spec_op.part and name.startswith(split)
        split = head + name[cut:] + "." if node is None else (split if part else None)
        entries.append((name[cut:], op, spec_op, unbound, tuple(rel[:len(ins)]), dict(zip(refs, rel[len(ins):])),
                        node, node.roles[depth:] if node is not None else (), part, share))
        if node is not None:
            own.add(name)
    rel_out = _relative(out, own, where, cut)
    if rel_out is None:
        return None
    strides = tuple([graph.nodes[i].stride for i in inputs])
    template = (tuple(entries), rel_out, strides, {})
    _place(template, _where(prov, prefix, inputs, strides), graph, first, out)
    return template


PLACES = 4  # placements remembered per template (each holds its nodes)


def _where(prov, prefix: str, inputs: list, strides: tuple) -> tuple:
    """Everything a replayed node takes from where it is placed: equal, and the nodes are the same."""
    return prefix, tuple(inputs), strides, prov.stage, prov.row, prov.repeat, prov.block, prov.roles, prov.mark


def _place(template, where: tuple, graph, first: int, out: str) -> None:
    """Remember the recipe entries and nodes an expansion made at `where` (from recipe entry `first` on)."""
    placed, entries = template[3], graph.recipe[first:]
    made = [(e[1], graph.nodes[e[1]]) for e in entries if e[0] is not None]
    if len(placed) >= PLACES:
        placed.pop(next(iter(placed)))
    placed[where] = (entries, made, out)


def _relative(name: str, own: set, where: dict, cut: int):
    """An input's index (int) or a node of the expansion's name past the prefix (str); None: neither."""
    if name in own:
        return name[cut:]
    return where.get(name)


def replay(builder, template, inputs: list, prefix: str, prov) -> str:
    """Add the template's recipe entries and nodes under `prefix`, reading `inputs`; its output's name.
    Where it was placed before (prefix, inputs, strides, provenance equal) the nodes made there are
    added again: nodes are values. Elsewhere, strides are worked out again only if the inputs' differ
    from the recording's (an op's stride rule reads only its inputs', references' and attributes)."""
    entries, out, strides, placed = template
    graph, new, mark = builder.graph, object.__new__, prov.mark
    nodes, recipe, head = graph.nodes, graph.recipe, prefix + "."
    now = tuple([nodes[i].stride for i in inputs])
    where = _where(prov, prefix, inputs, now)
    if where in placed and (name := _reuse(graph, placed[where])) is not None:
        return name
    same, first = strides == now, len(recipe)
    fields = {"stage": prov.stage, "row": prov.row, "repeat": prov.repeat, "block": prov.block, "mark": mark}
    for suffix, op, spec_op, unbound, rins, rrefs, old, roles, part, share in entries:
        if not part and len(nodes) > MAX_NODES:
            raise GraphError(f"more than {MAX_NODES} nodes; the spec is too large", mark)
        name = head + suffix
        ins = tuple([inputs[r] if type(r) is int else head + r for r in rins])
        refs = {k: inputs[r] if type(r) is int else head + r for k, r in rrefs.items()} if rrefs else {}
        recipe.append((None if old is None else name, name, op, unbound, ins, refs, mark))
        if old is None:
            continue
        node = new(Node)
        d = node.__dict__
        d.update(old.__dict__)
        d.update(fields)
        d["name"], d["inputs"], d["roles"] = name, ins, prov.roles + roles
        if share is not None:
            d["share"] = head + share
        if not same:
            d["stride"] = spec_op.place(spec_op, old.attrs, graph, ins, refs)
        if name in nodes or not all([i in nodes for i in ins]):
            graph.add(node)  # raises what a full expansion raises
        nodes[name] = node
    graph._g = None  # as Graph.add does: a networkx view made before is out of date
    name = inputs[out] if type(out) is int else head + out
    _place(template, where, graph, first, name)
    return name


def _reuse(graph, before: tuple):
    """Add the recipe entries and nodes an expansion made at this place before; its output's name.
    None when a node's name is taken or the node limit is near: the replay says what is wrong."""
    entries, made, out = before
    nodes = graph.nodes
    if len(nodes) + len(made) > MAX_NODES or not nodes.keys().isdisjoint([name for name, _ in made]):
        return None
    graph.recipe.extend(entries)
    nodes.update(made)
    graph._g = None
    return out


def _freeze(value):
    """A hashable stand-in for an argument value that tells apart what == does not (True and 1,
    0.0 and -0.0); None for a value of another kind."""
    kind = type(value)
    if kind in (int, str, bool) or value is None:
        return kind, value
    if kind is float:
        return kind, repr(value)
    if kind is list:
        items = tuple([_freeze(v) for v in value])
        return None if None in items else (kind, items)
    if kind is dict:
        items = tuple([(k, _freeze(v)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))])
        return None if any(v is None for _, v in items) else (kind, items)
    return None
