"""Which channels of a graph are the same channel: connected components over (tensor, position),
each op's coupling rule (its registry entry's `carry.couple`, archc/ops/carry.py), with every
tensor at the size given (the original model's, for carry.py).

    couplings = Couplings(list(graph), {n.name: n.shape[0] for n in graph})
    couplings.classes("features.2.0.project.bn")   # one class id per channel
"""
from __future__ import annotations


import numpy as np

from archc.ops import OPS
from archc.ops.carry import PLAIN


class Couplings:
    def __init__(self, nodes: list, sizes: dict):
        self.sizes = dict(sizes)
        self.offset, total = {}, 0
        for name, size in self.sizes.items():
            self.offset[name], total = total, total + size
        self.total, self.edges = total, []  # pairs of element ids that are the same channel
        graph = {n.name: n for n in nodes}
        for node in nodes:
            if node.share is not None:  # shared weights: the same channels in and out as the owner
                self.tie(node.inputs[0], graph[node.share].inputs[0])
                self.tie(node.name, node.share)
            couple = OPS[node.op].carry.couple
            if couple is not None:
                couple(self, node)
        self._roots = None

    def union(self, a: str, i, b: str, j) -> None:
        """Positions i of tensor a are positions j of tensor b (ints or equal-length arrays)."""
        i, j = np.broadcast_arrays(np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64))
        self.edges.append(np.stack([self.offset[a] + i.ravel(), self.offset[b] + j.ravel()]))

    def tie(self, a: str, b: str) -> None:
        n = np.arange(min(self.sizes[a], self.sizes[b]))
        self.union(a, n, b, n)

    def grid(self, name: str, groups: int) -> None:
        """Tie position l of every group: keeping whole sets keeps the groups equally filled."""
        per = self.sizes[name] // groups
        l = np.arange(per)
        for g in range(1, groups):
            self.union(name, l, name, g * per + l)

    def roots(self) -> np.ndarray:
        """Every element's class id (the smallest element of its class): min-label propagation with
        pointer jumping over the edges."""
        if self._roots is None:
            a, b = np.concatenate(self.edges, 1) if self.edges else np.zeros((2, 0), dtype=np.int64)
            label = np.arange(self.total)
            while True:
                low = np.minimum(label[a], label[b])
                new = label.copy()
                np.minimum.at(new, label[a], low)  # hook each class's root onto the smaller label
                np.minimum.at(new, label[b], low)
                while not np.array_equal(new[new], new):
                    new = new[new]
                if np.array_equal(new, label):
                    break
                label = new
            self._roots = label
        return self._roots

    def classes(self, name: str, roots: np.ndarray | None = None) -> np.ndarray:
        roots = self.roots() if roots is None else roots
        return roots[self.offset[name]:self.offset[name] + self.sizes[name]]

    def families(self, roots: np.ndarray) -> dict:
        """Interchangeable classes, those that touch the same tensors as often:
        {((tensor, count), ...): [class, ...]}."""
        names = list(self.sizes)
        tensor = np.repeat(np.arange(len(names)), [self.sizes[n] for n in names])
        keys, counts = np.unique(roots * len(names) + tensor, return_counts=True)  # sorted by class, then tensor
        pairs = np.stack([keys // len(names), keys % len(names)], 1)
        salt = np.random.default_rng(0).integers(1, 2**62, len(names), dtype=np.uint64)
        classes, first, which = np.unique(pairs[:, 0], return_index=True, return_inverse=True)
        digest = np.zeros(len(classes), dtype=np.uint64)
        np.add.at(digest, which, salt[pairs[:, 1]] * counts.astype(np.uint64))  # wraps: a hash
        bounds = list(first) + [len(pairs)]
        out: dict = {}
        for members in _group(digest, classes).values():
            i = int(np.searchsorted(classes, members[0]))
            lo, hi = bounds[i], bounds[i + 1]  # the representative's (tensor, count) pairs
            out[tuple((names[t], int(n)) for t, n in zip(pairs[lo:hi, 1], counts[lo:hi]))] = members
        return out


def _group(digest: np.ndarray, classes: np.ndarray) -> dict:
    order = np.argsort(digest, kind="stable")
    values, starts = np.unique(digest[order], return_index=True)
    ends = list(starts[1:]) + [len(order)]
    return {int(v): classes[order[a:b]].tolist() for v, a, b in zip(values, starts, ends)}


def channel_sizes(nodes: list) -> dict:
    """Each node's channel count: C of a map or vector, of an LxC sequence, heads·d of a head tensor
    (whichever of its last two dims d is, as its op's `carry.axis` says); an attention score tensor
    (heads x Lq x Lk) has none."""
    sizes, axes = {}, {}  # axes: the dim of a head tensor that holds d (-1, -2, or None: scores)
    for n in nodes:
        s, rule = n.shape, OPS[n.op].carry.axis
        axis = rule(n, axes) if rule is not None else PLAIN
        if axis != PLAIN:
            axes[n.name] = axis
            sizes[n.name] = 0 if axis is None else s[0] * s[axis]
        else:
            sizes[n.name] = (s[1] if len(s) == 2 else s[0]) if s else 0
    return sizes
