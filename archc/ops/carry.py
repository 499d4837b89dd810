"""What carrying trained weights through a width change (archc/torch/carry.py) needs of an op: which
of its output's channels are its inputs' channels, and how its weight tensors index channels. Each op's
registry entry holds one `Carry` (its `carry` field); an op that does not give one is refused by
carrying whenever a width changes, never guessed.

A coupling rule is `rule(c, node)`, written against archc.torch.channels.Couplings: `c.sizes[name]`
(a tensor's channel count), `c.tie(a, b)` (channel i of a is channel i of b), `c.union(a, i, b, j)`
(positions i of a are positions j of b: ints or equal-length sequences) and `c.grid(name, groups)`
(tie position l of every group, so that groups stay equally filled).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

LAYOUTS = ("kernel", "kernel_transposed", "matrix", "per_channel")  # weights carrying slices channel by channel


@dataclass(frozen=True)
class Carry:
    """`couple`: the rule tying the output's channels to its inputs' (None: the output's channels are
    its own, as a conv's or the graph input's). `weights`: how its tensors index channels: "" (it has
    none), "kernel" ([out, in/groups, ...]: conv), "kernel_transposed" ([in, out/groups, ...]: deconv),
    "matrix" ([out, in]: linear),
    "per_channel" (vectors over the output channels, as BN's) or "as_is" (copied unchanged: only
    right while no channel count changes). `known`: False when carrying has no rule for the op."""

    couple: Callable | None = None
    weights: str = ""
    known: bool | Callable = True  # or node -> bool: known for some uses of the op only
    axis: Callable | None = None  # (node, axes so far) -> the dim of a head tensor holding d, None: scores (no
    # channels), PLAIN: not a head tensor (archc.torch.channels.channel_sizes)

    def knows(self, node) -> bool:
        return self.known(node) if callable(self.known) else self.known


def same(c, node) -> None:
    """The output's channels are the (first) input's: BN, activations, pooling, resizing."""
    c.tie(node.name, node.inputs[0])


def each(c, node) -> None:
    """Every input's channels are the output's (a residual add)."""
    for src in node.inputs:
        c.tie(node.name, src)


def gate(c, node) -> None:
    """The inputs with as many channels as the output are its channels; a 1-channel gate broadcasts."""
    for src in node.inputs:
        if c.sizes[src] == c.sizes[node.name]:
            c.tie(node.name, src)


def concat(c, node) -> None:
    """The inputs' channels, one after another (by offset)."""
    at = 0
    for src in node.inputs:
        n = c.sizes[src]
        c.union(node.name, range(at, at + n), src, range(n))
        at += n


def shuffle(c, node) -> None:
    """Output channel j is input channel (j % g) * (n / g) + j // g; every group's position l is tied."""
    g, n = node.attrs["groups"], c.sizes[node.name]
    c.union(node.name, range(n), node.inputs[0], [(j % g) * (n // g) + j // g for j in range(n)])
    c.grid(node.inputs[0], g)


def grouped(c, node) -> None:
    """A conv's output channels are its own, except depthwise (channel i becomes outputs i*m .. i*m+m-1);
    grouped convs tie the same position in every group of their input and output."""
    g, src, n = node.attrs.get("groups", 1), node.inputs[0], c.sizes[node.name]
    if g > 1 and g == c.sizes[src]:
        c.union(node.name, range(n), src, [i // (n // g) for i in range(n)])
    elif g > 1:
        c.grid(src, g)
        c.grid(node.name, g)


def flatten(c, node) -> None:
    """Feature i of the vector comes from channel i // (H*W)."""
    src, n = node.inputs[0], c.sizes[node.name]
    c.union(node.name, range(n), src, [i // (n // max(1, c.sizes[src])) for i in range(n)])


PLAIN = "plain"  # a map, vector or sequence: its channels are C


def head_axis(node, axes: dict):
    """After `heads`: d is the last dim (heads x L x d)."""
    return -1


def swapped_axis(node, axes: dict):
    """A transpose of a head tensor moves d between the last two dims; of scores, there is none."""
    d = axes.get(node.inputs[0], PLAIN)
    return d if d in (PLAIN, None) else -3 - d


def kept_axis(node, axes: dict):
    """Softmax keeps its input's layout."""
    return axes.get(node.inputs[0], PLAIN)


def product_axis(node, axes: dict):
    """attn @ v keeps v's d as the last dim; q @ kᵀ gives scores (no channels)."""
    return -1 if axes.get(node.inputs[1]) == -1 else None


def heads(c, node) -> None:
    """Head h's channel j is the sequence's h·d + j, in each of the `groups` runs (run-major: channel
    r·C + h·d + j); every head of every run keeps the same positions."""
    g, src = node.attrs.get("groups", 1), node.inputs[0]
    if g == 1:
        c.tie(node.name, src)
    else:
        n = c.sizes[src]
        c.union(node.name, range(g * n), src, [i % n for i in range(g * n)])
    c.grid(node.name, node.attrs["heads"] * g)


def merged(c, node) -> None:
    """merge_heads: the inverse of `heads` (with its runs)."""
    g, src = node.attrs.get("groups", 1), node.inputs[0]
    if g == 1:
        c.tie(node.name, src)
    else:
        n = c.sizes[node.name]
        c.union(src, range(g * n), node.name, [i % n for i in range(g * n)])


def matmul(c, node) -> None:
    """q @ kᵀ contracts q's channels with k's (tied; the scores have none); attn @ v keeps v's."""
    a, b = node.inputs
    if c.sizes[node.name]:
        c.tie(node.name, b)
    elif c.sizes[a] and c.sizes[a] == c.sizes[b]:
        c.tie(a, b)


def sliced(c, node) -> None:
    """Channel i of the slice is channel start + i of its input."""
    n = c.sizes[node.name]
    c.union(node.name, range(n), node.inputs[0], [node.attrs["start"] + i for i in range(n)])


def groups_tied(c, node) -> None:
    """Through, and the same position of every group tied (group norm): each group keeps as many channels."""
    c.tie(node.name, node.inputs[0])
    c.grid(node.name, node.attrs["groups"])


UNKNOWN = Carry(known=False, weights="as_is")  # no rule: a width change through it is refused
SAME = Carry(same)
