from __future__ import annotations

from dataclasses import dataclass

from archc.errors import ArchcError, GraphError, PassError
from archc.ops import OPS
from archc.lang.spec import MAX_DIM, Spec, parse_input
from . import Pass, register
from archc.ir.builds import Builds, at_input

SCAN = 64  # multiples of the total stride tried when looking for a valid size


@register
@dataclass(frozen=True)
class InputPass(Pass):
    """Input channels and resolution (the thesis's first knob: 512 ... 96, RGB or Y).

    Refused when H or W is not divisible by the network's total stride or (strict,
    the default) a pooling bin would exceed its feature map, as in the thesis's
    knob study; the message names the smallest valid size. torch itself accepts
    more bins than pixels (the windows overlap): strict=false allows that, and
    `--input CxHxW` on the command line is this pass with strict=false, applied last.

        --pass input=1x96x96          recipe: - input: 1x96x96
        --pass input=3x160x160,strict=false
    """

    name = "input"
    size: str
    strict: bool = True

    def __post_init__(self):
        try:
            chw = parse_input(self.size)
        except ArchcError as exc:
            raise PassError(f"pass 'input': {exc.message}") from None
        object.__setattr__(self, "size", "x".join(map(str, chw)))  # one spelling: 3x96x96

    @classmethod
    def from_args(cls, positional, named):
        if isinstance(positional, list):  # recipe: `- input: [3, 96, 96]`
            positional = "x".join(map(str, positional))
        return super().from_args(positional, named)

    @property
    def chw(self) -> tuple:
        return parse_input(self.size)

    has_notes = True

    def apply(self, spec: Spec, builds: Builds) -> Spec:
        new = at_input(spec, self.chw)
        problem = _problem(builds, new, self.strict)  # builds `new`, so the pipeline's check of it is free
        if problem:
            raise PassError(_refusal(builds, spec, self.chw, problem, self.strict)) from None
        return new

    def notes(self, before, after) -> list:
        over = _overfull_pools(after)
        return [f"{over}: torch pools overlapping windows (strict=false)"] if over else []


def _refusal(builds: Builds, spec: Spec, chw: tuple, cause: str, strict: bool) -> str:
    """Why `chw` does not fit, and the smallest size that does."""
    c, h, w = chw
    stride = builds(spec).total_stride()
    bad = [d for d in (h, w) if d % stride]
    why = (f"{bad[0]} is not divisible by the network's total stride {stride}" if bad else cause)
    sizes = [_smallest(builds, spec, c, stride, axis, 1, strict) for axis in (1, 2)]
    if None in sizes:
        return f"input {c}x{h}x{w}: {why}; no valid size up to {SCAN * stride} found"
    text = f"input {c}x{h}x{w}: {why}; the smallest valid size is {c}x{sizes[0]}x{sizes[1]}"
    above = [_smallest(builds, spec, c, stride, axis, -(-d // stride), strict) for axis, d in ((1, h), (2, w))]
    if None not in above and max(above) > MAX_DIM:  # a size --input would refuse is no suggestion
        text += f" (sizes go up to {MAX_DIM}: the nearest below is {c}x{h // stride * stride}x{w // stride * stride})"
    elif None not in above and above != sizes:
        text += f" (the nearest at or above {h}x{w} is {c}x{above[0]}x{above[1]})"
    first = (c, -(-h // stride) * stride, -(-w // stride) * stride)
    if bad and list(first[1:]) != sizes and list(first[1:]) != above and max(first[1:]) <= MAX_DIM:
        text += f"; {first[0]}x{first[1]}x{first[2]} fails too: {_why(builds, spec, first, strict)}"
    return text


def _smallest(builds: Builds, spec: Spec, c: int, stride: int, axis: int, start: int, strict: bool):
    """The smallest multiple of `stride` from start*stride that builds, along H (1) or W (2).
    The search starts where the pooling bins first fit (bins x the stride they see), so it
    usually takes one build; `builds` remembers them, as a sweep asks the same for many inputs."""
    first = max(1, start, -(-_bins_need(builds, spec, axis) // stride) if strict else 1)
    for m in range(first, first + SCAN):
        chw = list(spec.input)
        chw[0], chw[axis] = c, m * stride
        if _why(builds, spec, tuple(chw), strict) is None:
            return m * stride
    return None


def _bins_need(builds: Builds, spec: Spec, axis: int) -> int:
    """The input size below which some adaptive pooling has more bins than pixels along `axis`
    (worked out once per graph: a graph is a value)."""
    graph = builds(spec)
    known = graph.__dict__.setdefault("_bins_need", {})
    if axis not in known:
        need = 1
        for node in graph:
            src = graph[node.inputs[0]] if node.inputs else None
            if OPS[node.op].bins and src.stride:
                need = max(need, int(OPS[node.op].bins(node.attrs)[axis - 1] * src.stride))
        known[axis] = need
    return known[axis]


def _why(builds: Builds, spec: Spec, chw: tuple, strict: bool = True):
    """Why the spec does not build at `chw` (None if it does)."""
    return _problem(builds, at_input(spec, chw), strict)


def _problem(builds: Builds, spec: Spec, strict: bool):
    try:
        graph = builds(spec)
    except GraphError as exc:
        return exc.message
    return _overfull_pools(graph) if strict else None


def _overfull_pools(graph):
    """The first adaptive pooling with more bins than its map has pixels, described; else None."""
    for node in graph.structure():
        if OPS[node.op].bins:
            (h, w), (bh, bw) = graph.shape(node.inputs[0])[1:], OPS[node.op].bins(node.attrs)
            if bh > h or bw > w:
                return f"{node.name}: pooling bin {bh}x{bw} exceeds the {h}x{w} feature map"
    return None
