"""An int8 (QDQ) ONNX file as ORT's quantizer writes it, rewritten smaller and computing the same
(benchmarks/litert_bytes.md has where its bytes go):

- per-channel zero points that are all zeros are dropped where the DequantizeLinear feeds convs only:
  0 is its default. The quantizer writes one per weight channel (int8, symmetric) and per bias channel
  (int32). (A Gemm's are kept: without them ORT does not fuse the group into QGemm and runs the Gemm in
  float, other values, slower: SegFormer's and MobileViT's 37 Gemms.);
- a conv's bias scale, input scale × weight scale by the QDQ rule, becomes a Mul of the two scales the
  model already holds, where that product is the stored scale bit for bit: ORT folds the Mul when it loads
  the model, before it fuses DequantizeLinear → Conv → QuantizeLinear into QLinearConv (4 bytes per output
  channel);
- the computed tensors' names ('gfe.0.0.expand.conv.weight_DequantizeLinear_Output', 30 to 60 characters,
  each written twice: where made and where read) become short ones. The graph's input and output and the
  initializers (the stored weights and scales) keep theirs, and every node its name: the per-layer profile
  maps nodes to spec paths by name.

Then the rewrite is checked, not assumed: ORT must optimize it to the same kernels (op types and counts)
and give the same outputs, bit for bit, on a seeded input; otherwise the file is left as the quantizer
wrote it.
"""
from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

_BIASED = ("Conv", "ConvTranspose", "Gemm")  # ops whose third input is a bias scaled as input × weight


def compact(path: Path) -> dict:
    """Rewrite `path` in place (a build's temporary folder) when ORT runs the rewrite as it runs `path`:
    how many of each thing were rewritten (all 0 when left as it was)."""
    import onnx

    model = onnx.load(str(path))
    done = {"zero_points": drop_zero_points(model), "bias_scales": derive_bias_scales(model),
            "names": short_names(model)}
    if not any(done.values()):
        return done
    with tempfile.TemporaryDirectory(prefix=".archc-compact-", dir=Path(path).parent) as tmp:
        rewritten = Path(tmp) / "compact.onnx"
        try:
            onnx.save_model(model, str(rewritten), save_as_external_data=False)
            same = runs_the_same(Path(path), rewritten, Path(tmp))
        except OSError:
            raise
        except Exception:  # noqa: BLE001 - ORT cannot load or run the rewrite: the quantizer's file stays
            same = False
        if not same:
            return dict.fromkeys(done, 0)
        os.replace(rewritten, path)  # whole or not at all
    return done


def runs_the_same(a: Path, b: Path, tmp: Path) -> bool:
    """ORT optimizes both files to the same kernels and gives the same outputs, bit for bit, on one seeded
    standard-normal input (batch 1 where the batch is dynamic)."""
    from collections import Counter

    import numpy as np
    import onnx
    import onnxruntime as ort

    results = []
    if any(i.type.tensor_type.elem_type != onnx.TensorProto.FLOAT for i in onnx.load(str(a)).graph.input):
        return False  # archc's models take float32: another is not checked, so not rewritten
    for n, f in enumerate((a, b)):
        options = ort.SessionOptions()
        options.log_severity_level = 4
        options.optimized_model_filepath = str(tmp / f"optimized{n}.onnx")
        sess = ort.InferenceSession(str(f), options, providers=["CPUExecutionProvider"])
        feed = {i.name: np.random.default_rng(0).standard_normal(
            [d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32) for i in sess.get_inputs()}
        kernels = Counter(node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node)
        results.append((kernels, sess.run(None, feed)))
    (ka, ya), (kb, yb) = results
    return ka == kb and len(ya) == len(yb) and all(np.array_equal(u, v, equal_nan=True) for u, v in zip(ya, yb))


def _uses(graph) -> dict:
    uses: dict = {}
    for n in graph.node:
        for slot, name in enumerate(n.input):
            uses.setdefault(name, set()).add((n.op_type, slot))
    return uses


def drop_zero_points(model) -> int:
    """Remove the all-zero per-channel zero points of DequantizeLinear nodes that feed convs only."""
    from onnx import numpy_helper

    g = model.graph
    uses, feeds = _uses(g), {}
    for n in g.node:
        for name in n.input:
            feeds.setdefault(name, set()).add(n.op_type)
    dqs = [n for n in g.node if n.op_type == "DequantizeLinear" and len(n.input) == 3]
    elsewhere = {n.input[2] for n in dqs if feeds.get(n.output[0]) != {"Conv"}}  # a zero point shared with those
    drop = {t.name for t in g.initializer if t.name not in elsewhere and uses.get(t.name) == {("DequantizeLinear", 2)}
            and numpy_helper.to_array(t).size > 1 and not numpy_helper.to_array(t).any()}
    for n in g.node:
        if n.op_type == "DequantizeLinear" and len(n.input) == 3 and n.input[2] in drop:
            del n.input[2]
    _keep_initializers(g, drop)
    return len(drop)


def derive_bias_scales(model) -> int:
    """Each bias scale equal to (input scale × weight scale) in float32 becomes Mul(input scale, weight scale)."""
    import numpy as np
    from onnx import helper, numpy_helper

    g = model.graph
    inits, producer, uses = {t.name: t for t in g.initializer}, {o: n for n in g.node for o in n.output}, _uses(g)
    made, drop = [], set()
    for n in g.node:
        dqs = [producer.get(i) for i in n.input[:3]]
        if n.op_type not in _BIASED or len(dqs) < 3 or any(d is None or d.op_type != "DequantizeLinear" for d in dqs):
            continue
        scales = [d.input[1] for d in dqs]
        if not all(s in inits for s in scales) or uses.get(scales[2]) != {("DequantizeLinear", 1)} \
                or len(set(scales)) < 3:
            continue
        x, w, b = (numpy_helper.to_array(inits[s]) for s in scales)
        product = x.astype(np.float32) * w.astype(np.float32)
        if b.dtype != np.float32 or product.shape != b.shape or not np.array_equal(product, b):
            continue
        name = _fresh(f"{scales[2]}_product", inits, producer)
        made.append(helper.make_node("Mul", scales[:2], [name], name=name))
        dqs[2].input[1] = name
        drop.add(scales[2])
    if made:
        nodes = made + list(g.node)  # their inputs are initializers: any place before their readers will do
        del g.node[:]
        g.node.extend(nodes)
        _keep_initializers(g, drop)
    return len(made)


def short_names(model) -> int:
    """Computed tensors' names -> 't0', 't1', ... (base 36); the graph's inputs and outputs and the
    initializers ('gfe.0.0.expand.conv.weight_quantized': which weight it is) keep theirs, nodes too.
    A graph with subgraphs (If, Loop: none in archc's models) is left as it is."""
    g = model.graph
    if any(a.g.node or a.graphs for n in g.node for a in n.attribute):
        return 0
    keep = {v.name for v in (*g.input, *g.output)} | {t.name for t in g.initializer}
    new: dict = {}
    counter = itertools.count()

    def short(name: str) -> str:  # one name per counter value: two tensors never get one
        if name and name not in keep and name not in new:
            new[name] = next(c for c in ("t" + _base36(i) for i in counter) if c not in keep)
        return new.get(name, name)

    for n in g.node:
        n.input[:] = [short(i) for i in n.input]
        n.output[:] = [short(o) for o in n.output]
    for v in g.value_info:
        v.name = short(v.name)
    return sum(old != name for old, name in new.items())  # 0 on a second pass: the same order, the same names


def _base36(i: int) -> str:
    digits = ""
    while True:
        i, r = divmod(i, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
        if not i:
            return digits


def _fresh(name: str, *taken) -> str:
    while any(name in t for t in taken):
        name += "_"
    return name


def _keep_initializers(graph, drop: set) -> None:
    kept = [t for t in graph.initializer if t.name not in drop]
    del graph.initializer[:]
    graph.initializer.extend(kept)
