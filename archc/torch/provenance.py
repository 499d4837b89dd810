"""Spec paths through export: `gfe.0.1.expand.conv` in the IR, the torch module and
the ONNX node alike.

The dynamo exporter writes, for each ONNX node, the stack of module paths it was
called from (`pkg.torch.onnx.name_scopes`). Modules already sit at their spec
paths; `scoped` wraps what has none (function calls, reuses of shared weights)
in modules at their IR paths, and `name_nodes` turns the recorded scopes into node
names and one small `archc.path` entry, dropping the exporter's bulky metadata
(stack traces with local file paths).
"""
from __future__ import annotations

import ast
from collections import Counter

from torch import nn

from archc.ir.graph import Graph
from archc.ops import OPS

PATH_KEY = "archc.path"
FUSED_KEY = "archc.fused"  # the batch norm folded into this conv
CALLS = "~calls"  # suffix of the module holding a node's function calls when the node also has a module


def scoped(gm):
    """A copy of the lowered GraphModule in which every fx node runs inside a module
    at its IR path (stamped by lower as meta["archc"]); same parameters, same result."""
    import torch.fx as fx

    owners, graph, env, modules, calls = dict(gm.named_modules()), fx.Graph(), {}, {}, {}
    with_module = {n.meta.get("archc") for n in gm.graph.nodes if n.op == "call_module"}
    for n in gm.graph.nodes:
        path, args = n.meta.get("archc"), fx.map_arg(n.args, env.__getitem__)
        kwargs = fx.map_arg(n.kwargs, env.__getitem__)
        if n.op == "call_function" and path:
            key = f"{path}{CALLS}" if path in with_module else path  # a maxpool's module and its unpacking
            fns = calls.setdefault(key, [])
            fns.append(n.target)
            env[n] = graph.call_module(key, (len(fns) - 1, *args), kwargs)
        elif n.op == "call_module" and path:
            modules[path] = owners[n.target] if n.target == path else _Alias(owners[n.target])
            env[n] = graph.call_module(path, args, kwargs)
        else:
            env[n] = graph.node_copy(n, env.__getitem__)
    modules.update({path: _Calls(fns) for path, fns in calls.items()})
    return fx.GraphModule(modules, graph).eval()


class _Calls(nn.Module):
    """The function calls of one IR node (an add of three inputs is two calls)."""

    def __init__(self, fns):
        super().__init__()
        self.fns = fns

    def forward(self, i, *args, **kwargs):
        return self.fns[i](*args, **kwargs)


class _Alias(nn.Module):
    """A reuse of shared weights: calls the owner without registering it twice
    (a tuple hides it from nn.Module), so the ONNX file holds the weights once."""

    def __init__(self, owner):
        super().__init__()
        self._owner = (owner,)

    def forward(self, *args):
        return self._owner[0](*args)


def name_nodes(model, graph: Graph) -> None:
    """Name each ONNX node by the spec path it computes (`path#k` for its k-th extra node)."""
    seen = Counter()
    for node in model.graph.node:
        path, fused = _origin(node, graph)
        del node.metadata_props[:]
        if path is None:
            continue
        node.name = f"{path}#{seen[path]}" if seen[path] else path
        seen[path] += 1
        _set(node.metadata_props, PATH_KEY, path)
        if fused:
            _set(node.metadata_props, FUSED_KEY, fused)
    for value in (*model.graph.input, *model.graph.output, *model.graph.value_info, *model.graph.initializer):
        del value.metadata_props[:]
    _set(model.metadata_props, "archc.spec", graph.name)
    _set(model.metadata_props, "archc.input", "x".join(map(str, graph.input_shape)))


def _origin(node, graph: Graph):
    """(IR path, folded bn path or None) from the exporter's scope stack; outermost first."""
    meta = {p.key: p.value for p in node.metadata_props}
    try:
        scopes = ast.literal_eval(meta.get("pkg.torch.onnx.name_scopes", "[]"))
    except (ValueError, SyntaxError):
        return None, None
    path = next((s.removesuffix(CALLS) for s in scopes if s.removesuffix(CALLS) in graph), None)
    if path and node.op_type == "Conv" and OPS[graph[path].op].folds:  # BN folded into its conv
        return graph[path].inputs[0], path
    return path, None


def node_meta(model) -> dict:
    """Node name -> its archc metadata, to carry across tools that drop metadata (onnxsim)."""
    return {n.name: [(p.key, p.value) for p in n.metadata_props if p.key.startswith("archc.")]
            for n in model.graph.node if n.name}


def restore_meta(model, saved: dict) -> None:
    """Reattach saved metadata by node name; a node the tool created (onnxsim turns a
    ReduceMean into a Squeeze) takes the path of the node that produces its input."""
    paths = {}  # tensor -> path of its producer
    seen = Counter(name.split("#")[0] for name in saved)
    for node in model.graph.node:
        for key, value in saved.get(node.name, ()):
            _set(node.metadata_props, key, value)
        path = next((p.value for p in node.metadata_props if p.key == PATH_KEY), None)
        if path is None:
            path = next((paths[i] for i in node.input if i in paths), None)
            if path is not None:
                node.name, seen[path] = f"{path}#{seen[path]}", seen[path] + 1
                _set(node.metadata_props, PATH_KEY, path)
        paths.update({o: path for o in node.output if path is not None})


def _set(props, key: str, value: str) -> None:
    for p in props:
        if p.key == key:
            p.value = value
            return
    entry = props.add()
    entry.key, entry.value = key, value
