"""Build: Spec -> Graph IR. Rows expand to n blocks (stride on the first only), blocks expand to primitives,
and every node's shape is inferred as it is added."""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, replace

from archc.lang.blocks import STEP_KEYS, Block, Library, Skipped
from archc.ir.dilate import Dilation, output_stride
from archc.errors import GraphError, SpecError, did_you_mean
from archc.lang.expr import resolve
from archc.ir.grouping import apply_grouping
from archc.ir import templates
from archc.ir.graph import MAX_NODES, Graph, Node, check_input_stride
from archc.ops import OPS, REQUIRED, arity_ok, check_distinct, check_param
from archc.ops.core import channels
from archc.lang.spec import Row, Spec, Stage, scale_channels


ROWS_KEPT = 1024  # rows whose resolved arguments a fast path keeps (emptied past it: a pipeline needs few)


@dataclass(frozen=True)
class Prov:
    stage: str
    row: str
    repeat: int
    block: str
    roles: tuple
    mark: object
    block_in: int | None = None  # input channels of the row's outermost block (`block_in_c` in blocks)

    def step(self, sid: str) -> "Prov":
        return Prov(self.stage, self.row, self.repeat, self.block, self.roles + (sid,), self.mark, self.block_in)


def build(spec: Spec) -> Graph:
    """Compile a Spec into a shape-checked Graph: a plain function of the spec, with no memory
    (a workspace, archc/ir/workspace.py, remembers graphs and owns the fast path)."""
    return Builder(spec).run()


class Builder:
    """One build. `memo`: a workspace's fast path (its block templates, the parameter checks and
    row arguments already worked out), or None for a build from nothing."""

    def __init__(self, spec: Spec, memo=None):
        self.spec = spec
        self.lib = Library(spec.blocks)
        self.graph = Graph(spec.name, spec.input)
        self.refs: dict[str, str] = {}
        self.dilation = Dilation()
        self.memo, self.templates = memo, memo.templates if memo is not None else None
        self.checked = memo.checked if memo is not None else None
        self.context = self.templates.context(spec) if self.templates is not None else None
        self.outside = 0  # names looked up past a block's own
        self.blocks = repr(spec.blocks)

    # -- spec level ------------------------------------------------------------
    def run(self) -> Graph:
        spec = self.spec
        self.primitive("input", {"shape": list(spec.input)}, [], "input", Prov("", "", 0, "", (), spec.input_mark),
                       {}, None)
        self.refs["input"] = "input"
        prev = ["input"]
        try:
            for stage in spec.stages:
                prev = self._stage(stage, prev)
            outs = self.lookup(spec.outputs, {}, spec.mark) if spec.outputs else prev
        except (GraphError, SpecError):
            check_input_stride(self.graph, spec, partial=True)
            raise
        check_input_stride(self.graph, spec)
        self.graph.outputs = list(outs)
        self.graph.refs = dict(self.refs)
        self.graph.check()
        return apply_grouping(self.graph, spec.grouping)

    def _stage(self, stage: Stage, prev: list) -> list:
        cur = self.lookup(stage.frm, {}, stage.mark) if stage.frm else prev
        if stage.id in self.refs:
            raise SpecError(f"stage id '{stage.id}' is already a name in this spec", stage.mark)
        limit = output_stride(stage, lambda value, mark: self._resolve(value, self.spec.vars, mark))
        for ri, row in enumerate(stage.rows):
            key = row.id or str(ri)
            if row.id and row.id in self.refs:
                raise SpecError(f"row id '{row.id}' is already a name in this spec", row.mark)
            inputs = self.lookup(row.frm, {}, row.field_mark("from")) if row.frm else cur
            cur = self._row(stage, key, row, inputs, limit)
            self.refs[f"{stage.id}.{key}"] = cur[0]
            if row.id:
                self.refs[row.id] = cur[0]
        self.refs[stage.id] = cur[0]
        for name, ref in stage.taps.items():  # names for points inside the stage (an import's taps)
            if name in self.refs:
                raise SpecError(f"tap '{name}' is already a name in this spec", stage.marks.get("taps", stage.mark))
            self.refs[name] = self.lookup([ref], {}, stage.marks.get("taps", stage.mark))[0]
        return cur

    def _row(self, stage: Stage, key: str, row: Row, inputs: list, limit: int | None = None) -> list:
        params = self.lib.params_of(row.op, row.mark)
        for r in range(row.n):
            args = dict(self._row_args(stage, key, row, params))  # the same for every repeat
            if r > 0 and "s" in params:
                args["s"] = 1  # only the first block of a row carries the stride
            if limit:
                args = self.dilation.apply(row.op, args, params, self.graph[inputs[0]].stride, limit,
                                           f"{stage.id}.{key}.{r}", row.mark)
            prov = Prov(stage.id, key, r, row.op, (), row.mark)
            out = self.expand(row.op, args, inputs, f"{stage.id}.{key}.{r}", prov, {}, None)
            inputs = out if isinstance(out, list) else [out]  # a split row outputs its parts
        return inputs

    def _row_args(self, stage: Stage, key: str, row: Row, params: dict) -> dict:
        """The row's fields resolved and checked, remembered by the fast path per Row object (passes
        share the rows they keep) with the spec's variables, width and blocks they were resolved in."""
        rows = self.memo.rows if self.memo is not None else None
        known = rows.get(id(row)) if rows is not None else None
        if known is not None and known[0]() is row and known[1] is self.spec.vars \
                and known[2] == (self.spec.width, self.blocks):
            return known[3]
        args = {}
        for name, value in row.fields.items():
            mark = row.field_mark(name)
            v = self._resolve(value, self.spec.vars, mark)
            if params[name].type == "channels" and isinstance(v, int) and not isinstance(v, bool):
                v = self._channels(v, row, name, mark)
            problem = check_param(params[name], v, self.checked)
            if problem:
                raise SpecError(f"{stage.id}.{key}: {row.op}: {problem}", mark)
            args[name] = v
        if rows is not None:  # a weak reference: a dead row's id, given to a new row, is not taken for it
            if len(rows) > ROWS_KEPT:
                rows.clear()
            rows[id(row)] = (weakref.ref(row), self.spec.vars, (self.spec.width, self.blocks), args)
        return args

    def _channels(self, c: int, row: Row, name: str, mark) -> int:
        new = scale_channels(c, self.spec.width, row.width)
        if new < 1:
            raise SpecError(f"width {self.spec.width.multiplier:g} turns {name}={c} into {new} channels; "
                            f"use a larger width or mark the row `width: fixed`", mark)
        return new

    def _resolve(self, value, scope, mark):
        try:
            return resolve(value, scope)
        except SpecError as exc:
            raise SpecError(exc.message, exc.mark or mark) from None

    def lookup(self, names, local: dict, mark) -> list:
        """Node names for `from:` references: block-local names, then spec names, then node paths."""
        out = []
        for name in names:
            if name in local:
                found = local[name]
                if isinstance(found, Skipped):
                    raise found.error(name, mark)
                out.extend(found if isinstance(found, list) else [found])
            elif name in self.refs:
                out.append(self.refs[name])
                self.outside += 1
            elif name in self.graph:
                out.append(name)
                self.outside += 1
            else:
                known = sorted(set(local) | set(self.refs))
                raise SpecError(f"from: '{name}' names nothing defined before this point "
                                f"(known: {', '.join(known)}){did_you_mean(name, known)}", mark)
        return out

    # -- blocks ----------------------------------------------------------------
    def expand(self, op: str, args: dict, inputs: list, name: str, prov: Prov, local: dict, share) -> str:
        if len(self.graph) > MAX_NODES:
            raise GraphError(f"more than {MAX_NODES} nodes; the spec is too large", prov.mark)
        if op in OPS:
            return self.primitive(op, args, inputs, name, prov, local, share)
        block = self.lib.blocks.get(op)
        if block is None:
            self.lib.params_of(op, prov.mark)  # raises the unknown-op error
        if self.templates is None:
            return self.expand_block(block, args, inputs, name, prov, share)
        return templates.expand(self.templates, self, block, args, inputs, name, prov, share)  # or replayed

    def expand_block(self, block: Block, args: dict, inputs: list, prefix: str, prov: Prov, share) -> str:
        if len(inputs) != len(block.inputs):
            raise GraphError(f"{prefix}: block {block.name} takes {len(block.inputs)} input(s) "
                             f"({', '.join(block.inputs)}), got {len(inputs)}", prov.mark)
        scope = dict(self.spec.vars)
        for nm, src in zip(block.inputs, inputs):
            shape = self.graph.shape(src)
            scope.update({f"{nm}_c": channels(shape), f"{nm}_h": shape[1] if len(shape) > 2 else 1,
                          f"{nm}_w": shape[2] if len(shape) > 2 else 1})
        first = self.graph.shape(inputs[0])
        prov = prov if prov.block_in is not None else replace(prov, block_in=channels(first))
        scope.update(in_c=channels(first), in_h=first[1] if len(first) > 2 else 1,
                     in_w=first[2] if len(first) > 2 else 1, block_in_c=prov.block_in)
        scope.update(self._block_args(block, args, scope, prefix, prov))
        for k, v in block.lets.items():
            scope[k] = self._resolve(v, scope, prov.mark)
        local = dict(zip(block.inputs, inputs))
        local["in"] = inputs[0]
        current = [inputs[0]]
        for step in block.body:
            current = self.step(step, scope, local, current, prefix, prov, share, None)
        out = self.lookup([block.out], local, prov.mark) if block.out else current
        if len(out) != 1:
            raise GraphError(f"{prefix}: block {block.name} ends in {len(out)} outputs; end it with one step",
                             prov.mark)
        return out[0]

    def _block_args(self, block: Block, args: dict, scope: dict, prefix: str, prov: Prov) -> dict:
        for k in args:
            if k not in block.params:
                raise SpecError(f"{prefix}: block {block.name} has no parameter '{k}' "
                                f"(has: {', '.join(block.params)}){did_you_mean(k, block.params)}", prov.mark)
        out = {}
        for pname, p in block.params.items():
            if pname in args:
                value = args[pname]
            elif p.default is REQUIRED:
                raise SpecError(f"{prefix}: block {block.name} needs '{pname}'", prov.mark)
            else:
                value = self._resolve(p.default, scope, prov.mark)
            problem = check_param(p, value, self.checked)
            if problem:
                raise SpecError(f"{prefix}: {block.name}: {problem}", prov.mark)
            out[pname] = value
        return out

    def step(self, step: dict, scope, local, current, prefix, prov, share, loop) -> list:
        sid = step["id"]
        if "when" in step and not self._resolve(step["when"], scope, prov.mark):
            names = _names(step["from"]) if "from" in step else [None]  # named: what it would have read
            local[sid] = Skipped(sid) if len(names) > 1 else \
                self.lookup(names, local, prov.mark) if names[0] else current
            return current  # the next step reads the previous output
        ins = self.lookup(_names(step["from"]), local, prov.mark) if "from" in step else current
        if "for" in step:
            return self._loop(step, scope, local, ins, prefix, prov, share)
        op = self._resolve(step["op"], scope, prov.mark)
        args = {k: self._resolve(v, scope, prov.mark) for k, v in step.items() if k not in STEP_KEYS}
        if loop and loop[0] != loop[1] and self._resolve(step.get("shared", False), scope, prov.mark):
            share = share or loop
        out = self.expand(op, args, ins, f"{prefix}.{sid}", prov.step(sid), local, share)
        local[sid] = out if isinstance(out, list) else [out]
        local.update({f"{sid}.{i}": [part] for i, part in enumerate(out)} if isinstance(out, list) else {})
        return local[sid]

    def _loop(self, step, scope, local, ins, prefix, prov, share) -> list:
        sid = step["id"]
        var, expr = re.fullmatch(r"\s*(\w+)\s+in\s+(.+)", step["for"]).groups()
        values = self._resolve("$" + expr, scope, prov.mark)
        if not isinstance(values, list) or not values:
            raise SpecError(f"{prefix}.{sid}: `for: {step['for']}` needs a non-empty list, got {values!r}", prov.mark)
        outs = []
        for i, value in enumerate(values):
            sub_scope, sub_local, cur = {**scope, var: value}, dict(local), ins
            loop = (f"{prefix}.{sid}.{i}.", f"{prefix}.{sid}.0.")
            for inner in step["steps"]:
                cur = self.step(inner, sub_scope, sub_local, cur, f"{prefix}.{sid}.{i}", prov.step(sid), share, loop)
            outs.extend(cur)
        local[sid] = outs
        return outs

    # -- primitives ------------------------------------------------------------
    def primitive(self, op: str, args: dict, inputs: list, name: str, prov: Prov, local: dict, share) -> str:
        spec_op = OPS[op]
        if not arity_ok(spec_op, len(inputs)):
            raise GraphError(f"{name}: {op} takes {spec_op.inputs} input(s), got {len(inputs)}", prov.mark)
        attrs = {}
        for k in args:
            if k not in spec_op.params:
                raise SpecError(f"{name}: {op} has no parameter '{k}' (has: {', '.join(spec_op.params) or 'none'})"
                                f"{did_you_mean(k, spec_op.params)}", prov.mark)
        for pname, p in spec_op.params.items():
            if pname not in args and not p.required:
                attrs[pname] = p.default  # an op's defaults fit its parameters; only given values are checked
                continue
            value = args.get(pname)
            if value is None and p.required:
                raise SpecError(f"{name}: {op} needs '{pname}'", prov.mark)
            problem = check_param(p, value, self.checked)
            if problem:
                raise SpecError(f"{name}: {op}: {problem}", prov.mark)
            attrs[pname] = p.canonical(value)
        refs = {r: self.lookup([attrs[r]], local, prov.mark)[0] for r in spec_op.refs if attrs.get(r) is not None}
        try:
            check_distinct(spec_op, inputs)
            unbound, attrs = attrs, spec_op.bind(attrs, self.graph, inputs, refs)
            in_shapes = [self.graph.shape(i) for i in inputs]
            shape = tuple(spec_op.infer(attrs, in_shapes))
        except GraphError as exc:
            raise GraphError(f"{name} ({op}): {exc.message}", prov.mark) from None
        # what ir/reshape.py redoes at another input size: the node (None: a split, checked only)
        self.graph.recipe.append((None if spec_op.parts else name, name, op, unbound, tuple(inputs), refs, prov.mark))
        if spec_op.parts:  # one slice node per part: name.0, name.1, ...
            return [self.primitive("slice", part, inputs, f"{name}.{i}", prov.step(str(i)), local, share)
                    for i, part in enumerate(spec_op.parts(attrs, in_shapes[0]))]
        owner = self._owner(name, op, attrs, in_shapes, share, prov)
        node = Node(name, op, attrs, tuple(inputs), shape, prov.stage, prov.row, prov.repeat, prov.block,
                    prov.roles, owner, prov.mark, spec_op.place(spec_op, attrs, self.graph, inputs, refs))
        self.graph.add(node)
        return name

    def _owner(self, name, op, attrs, in_shapes, share, prov):
        if not share or not name.startswith(share[0]):
            return None
        owner = share[1] + name[len(share[0]):]
        if owner not in self.graph:
            return None
        other = self.graph[owner]
        if other.op != op or other.attrs != attrs or self.graph.shape(other.inputs[0])[0] != in_shapes[0][0]:
            raise GraphError(f"{name} cannot share weights with {owner}: their ops or channel counts differ", prov.mark)
        return other.owner


def _names(value) -> list:
    return [value] if isinstance(value, str) else list(value)
