"""Trained weights through the structural passes: (original graph + its state_dict, transformed
graph) -> the transformed graph's state_dict. Passes stay pure Spec -> Spec; this runs after them.

Nodes keep their spec paths through `repeat` (the first repeats of a row stay) and `drop` (the
other rows stay), so their weights are copied by name. `width` (and `expand`) keep fewer channels:
which survive is chosen by the L1 norm of each coupled channel group. Channels are coupled when one
tensor's channel is another's: through BN, activations, pooling and resizing, residual adds, SE
gates (mul), concats (by offset), depthwise convs and channel shuffles; grouped convs and shuffles
further tie the same position in every group (keeping whole such sets keeps every group equally
filled and a shuffle's order intact). A group's norm sums |w| over every weight slice that reads or
writes it (as Torch-Pruning's GroupMagnitudeImportance(p=1) does).

    carried = carry(compile_spec(spec).graph, state, compile_spec(spec, ["width=0.5"]).graph)
    carried.state, carried.kept_norm      # the new weights, the fraction of the L1 norm kept
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
import torch

from archc.ir.graph import Graph
from archc.ops import OPS
from archc.ops.carry import LAYOUTS, same
from archc.torch.channels import Couplings, channel_sizes
from archc.torch.weightmap import WeightsError

BN_TENSORS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


@dataclass
class Carried:
    state: dict  # the transformed graph's state_dict, keyed by spec path
    kept: dict  # tensor (node name) -> the original channel positions it keeps, in order
    kept_norm: float  # fraction of the L1 norm of the prunable channel groups that survives


def carry(original: Graph, state: dict, new: Graph) -> Carried:
    """`state` (the original's state_dict) restricted to what `new` keeps."""
    # refused, not guessed, if a width changes (a slice of a map, ShuffleNetV2's halves, among them: the slice's
    # rule is the sequences', attention's k and v, not yet checked against ShuffleNet's invariant)
    unknown = sorted({n.op for n in new if not OPS[n.op].carry.knows(n)})
    before, after = channel_sizes(list(original)), channel_sizes(list(new))
    if unknown and any(before[n.name] != after[n.name] for n in new if n.name in original):
        raise WeightsError(f"carrying weights through {', '.join(unknown)} is not supported yet (their op "
                           f"entries give no carry rule, archc/ops/carry.py); train the narrower model from scratch "
                           f"or load weights made for it")
    stages = {n.name.split(".")[0] for n in original}
    for node in new:
        if node.name not in original and not _resampling_stage(node, stages):
            raise WeightsError(f"carrying weights: '{node.name}' ({node.op}) is not in the original model, so no "
                               f"checkpoint tensor can fill it; load the weights after the passes instead")
    # the new graph's wiring (drop rewires), the original's sizes and attributes
    # (a resampling stage a pass added, as it is)
    nodes = [replace(original[n.name], inputs=n.inputs, share=n.share) if n.name in original else n for n in new]
    couplings = Couplings(nodes, channel_sizes(nodes))
    roots = couplings.roots()
    norms = _norms(new, original, state, couplings, roots)
    keep = np.zeros(len(roots), dtype=bool)
    keep[sorted(_select(couplings.families(roots), after, norms))] = True
    kept = {t: np.flatnonzero(keep[couplings.classes(t, roots)]).tolist() for t in couplings.sizes}
    out = {}
    for node in new:
        layout = OPS[node.op].carry.weights
        if layout in LAYOUTS and node.share is None:
            out.update(_gather(node, original[node.name], state, kept))
        elif layout == "as_is":  # its channels are unchanged (else refused above): its tensors as they are
            out.update({k: v.clone() for k, v in state.items() if k.rsplit(".", 1)[0] == node.name})
    return Carried(out, kept, float(norms[keep].sum() / max(norms.sum(), 1e-30)))


def _resampling_stage(node, stages: set) -> bool:
    """A weightless op that keeps the channels it reads (a pooling or resize, early_downsample's) in a stage
    of its own that a pass added."""
    entry = OPS[node.op].carry
    return entry.couple is same and not entry.weights and node.name.split(".")[0] not in stages


def _norms(new: Graph, original: Graph, state: dict, couplings: Couplings, roots) -> np.ndarray:
    """class id -> summed |w| of the conv / linear slices that write it (rows) or read it (columns)."""
    norms = np.zeros(len(roots))
    for node in new:
        layout = OPS[node.op].carry.weights
        if layout not in ("kernel", "kernel_transposed", "matrix") or node.share is not None:
            continue
        w = state[f"{node.name}.weight"].abs()
        w = w.transpose(0, 1) if layout == "kernel_transposed" else w  # deconv weights are [in, out/g, k, k]
        g, c_in = original[node.name].attrs.get("groups", 1), couplings.sizes[node.inputs[0]]
        rows = w.reshape(w.shape[0], -1).sum(1)
        cols = w.reshape(g, w.shape[0] // g, c_in // g, -1).sum((1, 3)).reshape(-1)  # [g * in/g]
        np.add.at(norms, couplings.classes(node.name, roots), rows.double().numpy())
        np.add.at(norms, couplings.classes(node.inputs[0], roots), cols.double().numpy())
    return norms


def _select(families: dict, target: dict, norms: np.ndarray) -> set:
    """The classes to keep: per family of interchangeable classes (those that touch the same
    tensors as often), how many each tensor's new size asks for, then the largest norms."""
    count = _counts(families, target)
    keep = set()
    for sig, members in families.items():
        ranked = sorted(members, key=lambda c: (-norms[c], c))
        keep.update(ranked[:count[sig]])
    return keep


def _counts(families: dict, target: dict) -> dict:
    """How many classes of each family survive: solved tensor by tensor (a tensor that only one
    unsolved family touches fixes that family), then checked against every tensor."""
    by_tensor = defaultdict(list)
    for sig in families:
        for tensor, n in sig:
            by_tensor[tensor].append((sig, n))
    count: dict = {}
    progress = True
    while progress and len(count) < len(families):
        progress = False
        for tensor, fams in by_tensor.items():
            open_ = [(s, n) for s, n in fams if s not in count]
            if len(open_) != 1:
                continue
            (sig, n), rest = open_[0], sum(count[s] * m for s, m in fams if s in count)
            k, left = divmod(target[tensor] - rest, n)
            if left or not 0 <= k <= len(families[sig]):
                raise WeightsError(f"carrying weights: '{tensor}' keeps {target[tensor]} channels, which its "
                                   f"coupled channel groups (of {n}) cannot give; choose a width that keeps "
                                   f"whole groups")
            count[sig], progress = k, True
    unsolved = [t for t, fams in by_tensor.items() if any(s not in count for s, _ in fams)]
    if unsolved:
        raise WeightsError(f"carrying weights: cannot tell how many channels of '{unsolved[0]}' survive")
    return count


def _gather(node, orig, state: dict, kept: dict) -> dict:
    """The node's tensors restricted to the kept channels (in the new order)."""
    out_idx = torch.tensor(kept[node.name], dtype=torch.long)
    keys = {k: state[k] for k in (f"{node.name}.{t}" for t in BN_TENSORS) if k in state}
    layout = OPS[node.op].carry.weights
    if layout == "per_channel":
        return {k: v if k.endswith("num_batches_tracked") else v[out_idx] for k, v in keys.items()}
    in_idx = torch.tensor(kept[node.inputs[0]], dtype=torch.long)
    w = state[f"{node.name}.weight"]
    if layout == "matrix":
        weight = w[out_idx][:, in_idx]
    elif layout == "kernel_transposed":
        weight = w[in_idx][:, out_idx] if orig.attrs.get("groups", 1) == 1 else _refuse(node)
    else:
        weight = _grouped(node, orig, w, out_idx, in_idx)
    result = {f"{node.name}.weight": weight.clone()}
    if f"{node.name}.bias" in state:
        result[f"{node.name}.bias"] = state[f"{node.name}.bias"][out_idx].clone()
    return result


def _grouped(node, orig, w: torch.Tensor, out_idx, in_idx) -> torch.Tensor:
    """A (grouped / depthwise) conv's kept rows, each new group reading its original group's kept inputs."""
    g, g_new = orig.attrs["groups"], node.attrs["groups"]
    if (g == 1) != (g_new == 1):
        raise WeightsError(f"carrying weights: conv '{node.name}' has groups {g} in the checkpoint and {g_new} "
                           f"after the passes; grouping changes what a weight means, so load weights afterwards")
    per_out, per_in = w.shape[0] // g, w.shape[1]
    rows = out_idx.view(g_new, -1)  # new group -> its kept rows
    group = rows[:, :1] // per_out  # the original group each new group comes from
    cols = in_idx.view(g_new, -1) - group * per_in
    if bool((rows // per_out != group).any()) or bool(((cols < 0) | (cols >= per_in)).any()):
        raise WeightsError(f"carrying weights: conv '{node.name}': the kept channels straddle its groups")
    cols = cols.repeat_interleave(rows.shape[1], 0)  # one row of input positions per output channel
    return w[out_idx][torch.arange(len(out_idx))[:, None], cols]


def _refuse(node):
    raise WeightsError(f"carrying weights: grouped deconv '{node.name}' is not supported; load weights afterwards")

