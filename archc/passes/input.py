from __future__ import annotations

from dataclasses import dataclass

from archc.errors import ArchcError, GraphError, PassError
from archc.ops import OPS
from archc.lang.spec import MAX_DIM, Spec, parse_input
from archc.ir.graph import unpadded
from . import Pass, register
from archc.passes import GraphOf

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
        if _spelled(self.size) != self.size:
            raise PassError(f"pass 'input': size '{self.size}' must be written CxHxW, e.g. 3x96x96")

    @classmethod
    def from_args(cls, positional, named):
        if isinstance(positional, list):  # recipe: `- input: [3, 96, 96]`
            positional = "x".join(map(str, positional))
        named = dict(named)
        if named.get("size") is not None:
            named["size"] = _spelled(named["size"])
        return super().from_args(None if positional is None else _spelled(positional), named)

    @property
    def chw(self) -> tuple:
        return parse_input(self.size)

    has_notes = True

    def apply(self, spec: Spec, graph_of: GraphOf) -> Spec:
        new = spec.at_input(self.chw)
        problem = _problem(graph_of, new, self.strict)  # builds `new`, so the pipeline's check of it is free
        if problem:
            raise PassError(_refusal(graph_of, spec, self.chw, problem, self.strict)) from None
        return new

    def notes(self, before, after) -> list:
        over = _overfull_pools(after)
        return [f"{over}: torch pools overlapping windows (strict=false)"] if over else []


def _refusal(graph_of: GraphOf, spec: Spec, chw: tuple, cause: str, strict: bool) -> str:
    """Why `chw` does not fit, and the smallest size that does."""
    c, h, w = chw
    if unpadded(graph_of(spec)):
        return _unpadded_refusal(graph_of, spec, chw, cause, strict)
    stride = graph_of(spec).total_stride()
    bad = [d for d in (h, w) if d % stride]
    why = (f"{bad[0]} is not divisible by the network's total stride {stride}" if bad else cause)
    scan = _Scan(graph_of, spec, c, stride, _bins_need(graph_of(spec)) if strict else None)
    sizes = [_smallest(scan, axis, 1) for axis in (1, 2)]
    if None in sizes:
        return f"input {c}x{h}x{w}: {why}; no valid size up to {SCAN * stride} found"
    text = f"input {c}x{h}x{w}: {why}; the smallest valid size is {c}x{sizes[0]}x{sizes[1]}"
    above = [_smallest(scan, axis, -(-d // stride)) for axis, d in ((1, h), (2, w))]
    if None not in above and max(above) > MAX_DIM:  # a size --input would refuse is no suggestion
        text += f" (sizes go up to {MAX_DIM}: the nearest below is {c}x{h // stride * stride}x{w // stride * stride})"
    elif None not in above and above != sizes:
        text += f" (the nearest at or above {h}x{w} is {c}x{above[0]}x{above[1]})"
    first = (c, -(-h // stride) * stride, -(-w // stride) * stride)
    if bad and list(first[1:]) != sizes and list(first[1:]) != above and max(first[1:]) <= MAX_DIM:
        text += f"; {first[0]}x{first[1]}x{first[2]} fails too: {_why(graph_of, spec, first, strict)}"
    return text


def _unpadded_refusal(graph_of: GraphOf, spec: Spec, chw: tuple, cause: str, strict: bool) -> str:
    """An unpadded network's sizes are not multiples of its stride: the nearest valid size at or above,
    looked for one pixel at a time over eight periods of the total stride (each axis on its own)."""
    c, h, w = chw
    step = max(SCAN, 8 * graph_of(spec).total_stride())
    found = []
    for axis, start in ((1, h), (2, w)):
        for d in range(start, min(start + step, MAX_DIM + 1)):
            size = list(spec.input)
            size[0], size[axis] = c, d
            if _why(graph_of, spec, tuple(size), strict) is None:
                found.append(d)
                break
    text = cause if cause.startswith(f"input {c}x{h}x{w}") else f"input {c}x{h}x{w}: {cause}"
    if len(found) < 2:
        return f"{text}; no valid size within {step} above it found"
    return f"{text}; the nearest valid size at or above is {c}x{found[0]}x{found[1]}"


@dataclass(frozen=True)
class _Scan:
    """What the search for a valid input size holds fixed: the spec, its graphs, the channels, the total
    stride, and `need` (bins x the stride they see, per axis; None: not strict)."""

    graph_of: GraphOf
    spec: Spec
    c: int
    stride: int
    need: tuple | None


def _smallest(scan: _Scan, axis: int, start: int):
    """The smallest multiple of the stride from start*stride that builds, along H (1) or W (2).
    The search starts where the pooling bins first fit, so it usually takes one build; the workspace
    remembers them, as a sweep asks the same for many inputs."""
    stride, need = scan.stride, scan.need
    first = max(1, start, -(-need[axis] // stride) if need is not None else 1)
    for m in range(first, first + SCAN):
        chw = list(scan.spec.input)
        chw[0], chw[axis] = scan.c, m * stride
        if _why(scan.graph_of, scan.spec, tuple(chw), need is not None) is None:
            return m * stride
    return None


def _bins_need(graph) -> tuple:
    """(1, H, W): the input size below which some adaptive pooling has more bins than pixels, per axis."""
    need = [1, 1, 1]
    for node in graph.structure():
        if OPS[node.op].bins and graph[node.inputs[0]].stride:
            stride, bins = graph[node.inputs[0]].stride, OPS[node.op].bins(node.attrs)
            need[1], need[2] = max(need[1], int(bins[0] * stride)), max(need[2], int(bins[1] * stride))
    return tuple(need)


def _spelled(size) -> str:
    """The one spelling of an input size, 3x96x96 (a PassError for what is none)."""
    try:
        return "x".join(map(str, parse_input(str(size))))
    except ArchcError as exc:
        raise PassError(f"pass 'input': {exc.message}") from None


def _why(graph_of: GraphOf, spec: Spec, chw: tuple, strict: bool = True):
    """Why the spec does not build at `chw` (None if it does)."""
    return _problem(graph_of, spec.at_input(chw), strict)


def _problem(graph_of: GraphOf, spec: Spec, strict: bool):
    try:
        graph = graph_of(spec)
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
