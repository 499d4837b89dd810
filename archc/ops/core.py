"""The op registry: one `Op` entry per primitive holds everything archc knows about it.

An entry says which parameters the op takes (with defaults), how its output shape
follows from its inputs, how many parameters it has (MACs and activation bytes
follow from that with torchinfo's rules, see archc.ir.analysis), the MAC formula
as `explain` prints it, how it lowers to torch, whether the lowering fixes the
ONNX model's spatial size, and how grouping and the summary see it. Adding an op
is one `@op(...)` entry in one file of this package. Torch is imported inside
the lowering functions only, so validating or summarising a spec never loads it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from archc.errors import GraphError, did_you_mean
from archc.ops.carry import UNKNOWN, Carry

REQUIRED = object()
MAX_INT = 2**31 - 1  # the one bound of every number a spec can give (sizes, counts): int32, as ONNX dims fit
TYPES = ("channels", "int", "ints", "float", "bool", "str", "list", "any")


@dataclass(frozen=True)
class Param:
    """A declared parameter of an op or block. `type`: channels, int, ints (int or [h, w]),
    float, bool, str, list, any. `aliases` maps other accepted spellings to a choice."""

    name: str
    type: str = "any"
    default: object = REQUIRED
    choices: tuple = ()
    doc: str = ""
    min: int | None = None  # smallest allowed value (channels, kernel, stride >= 1)
    above: float | None = None  # floats: the value must be larger than this (bn eps > 0)
    aliases: dict = field(default_factory=dict, compare=False)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def canonical(self, value):
        """The value with an alias spelled as the choice it stands for (`hswish` -> `hardswish`)."""
        return self.aliases.get(value, value) if isinstance(value, str) else value


def _no_weights(attrs, ins) -> int:
    return 0


def _same_stride(attrs) -> float:
    return 1


def _no_formula(attrs, ins, out, macs) -> str:
    return "no parameters: 0" if not macs else f"{macs:,}"


def place(op: "Op", attrs: dict, graph, inputs: list, refs: dict):
    """The default stride rule: the largest input stride times the op's factor (None: not spatial)."""
    known = [graph[i].stride for i in inputs if graph[i].stride is not None]
    factor = op.stride(attrs)
    return None if factor is None or not known else max(known) * factor


def _unbound(attrs, graph, inputs, refs) -> dict:
    return attrs


@dataclass(frozen=True)
class Op:
    name: str
    doc: str
    params: dict
    infer: Callable  # (attrs, in_shapes) -> out shape, GraphError when it does not fit
    count: Callable = _no_weights  # (attrs, in_shapes) -> parameter count
    inputs: str = "1"  # "0" (a graph input), "1", "2", "1+" or "2+"
    conv_like: bool = False  # torchinfo multiplies conv params by output H*W
    stride: Callable = _same_stride  # (attrs) -> spatial downsampling factor (None: sets its own size)
    example: str = ""
    formula: Callable = _no_formula  # (attrs, in_shapes, out, macs) -> the MACs' arithmetic, for explain
    module: Callable | None = None  # (attrs, in_shapes) -> torch.nn.Module, one per weight owner
    call: Callable | None = None  # (ctx, node, args) -> fx value; after `module`, args is [its output]
    size_bound: str = ""  # why the lowering is only right at the build's spatial size ("" if it is not)
    weighted: bool = False  # a weight layer grouping stops at when it looks for the classifier
    groupable: Callable = lambda attrs: False  # a dense 1x1 conv that `groups` / grouping may split
    grouped: Callable = lambda attrs: False  # a 1x1 conv split into groups already (`groups` finds it done)
    folds: bool = False  # exported folded into the conv before it (bn): ONNX keeps no node of its own
    rescale: Callable | None = None  # (row fields, factor) -> fields upsampling `factor` times more, or None
    part: bool = False  # what an op with `parts` (split, chunk) becomes, once per output (slice)
    crops: bool = False  # cuts a map down to another's size: the network's windows are unpadded (U-Net's crop)
    words: Callable | None = None  # (attrs, cin, cout, out) -> its line in drawings and reports; None: its name
    look: Callable = lambda attrs, cin: "other"  # (attrs, in channels) -> its colour class there (reports.labels)
    quiet: bool = False  # left out of the summary table when it has no parameters
    layer: bool = True  # a layer of the summary (the graph input is not)
    refs: tuple = ()  # parameters that name another node (resize `to:`): renamed by passes
    bind: Callable = _unbound  # (attrs, graph, inputs, refs) -> attrs, with what other nodes fix
    place: Callable = place  # (op, attrs, graph, inputs, refs) -> the node's cumulative stride
    parts: Callable | None = None  # (attrs, in_shape) -> one `slice` attrs per output (split, chunk)
    distinct: bool = False  # reading one node twice is a mistake (concat)
    bins: Callable | None = None  # (attrs) -> (bh, bw): the fixed grid it pools to, whatever the input size
    extra_macs: Callable | None = None  # (attrs, in_shapes, out) -> MACs torchinfo does not see (matmul)
    carry: Carry = UNKNOWN  # what carrying weights needs (archc/ops/carry.py); without it, a width change is refused

    @property
    def lowerable(self) -> bool:
        return self.module is not None or self.call is not None


OPS: dict[str, Op] = {}


def op(name, *, params=(), **fields):
    """Register the decorated shape rule as primitive op `name`; `fields` are the Op's other fields."""

    def deco(infer):
        OPS[name] = Op(name, " ".join((infer.__doc__ or "").split()), {p.name: p for p in params}, infer, **fields)
        return infer

    return deco


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


TYPE_OK = {  # one test per parameter type, looked up rather than all computed on every call
    "channels": _int, "int": _int, "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str), "list": lambda v: isinstance(v, list),
    "ints": lambda v: _int(v) or (isinstance(v, list) and len(v) == 2 and all(_int(x) for x in v)),
}


_SCALARS = frozenset((int, str, bool, type(None)))  # not float: -0.0 == 0.0, and messages show the repr
CHECKS_KEPT = 100_000  # answers a memo keeps (emptied past it)


def check_param(p: Param, value, memo: dict | None = None) -> str | None:
    """Why `value` does not fit parameter `p`, or None when it does. `memo` (a workspace's, as a build
    checks the same values again and again): answers for plain values by (id(p), type, value); the
    entry holds `p` itself, so its id names no other parameter while the entry lives."""
    kind = type(value)
    if memo is None:
        return _check(p, value)
    if kind in _SCALARS:
        key = (id(p), kind, value)
    elif kind is list and len(value) <= 4 and all(type(v) in _SCALARS for v in value):
        key = (id(p), kind, tuple((type(v), v) for v in value))
    else:
        return _check(p, value)
    hit = memo.get(key)
    if hit is None or hit[0] is not p:
        if len(memo) > CHECKS_KEPT:
            memo.clear()
        hit = memo[key] = (p, _check(p, value))
    return hit[1]


def _check(p: Param, value) -> str | None:
    if value is None and not p.required and p.default is None:
        return None
    ok = TYPE_OK.get(p.type)
    if ok is not None and not ok(value):
        want = {"ints": "an integer or [h, w]", "channels": "an integer channel count"}.get(p.type, f"a {p.type}")
        return f"'{p.name}' must be {want}, got {value!r}"
    if p.choices and p.canonical(value) not in p.choices:
        spellings = list(p.choices) + list(p.aliases)
        return (f"'{p.name}' must be one of {', '.join(map(str, p.choices))}, got {value!r}"
                f"{did_you_mean(value, spellings)}")
    return _check_range(p, value)


def _check_range(p: Param, value) -> str | None:
    """Finite, within MAX_INT, and above the parameter's bounds."""
    nums = [v for v in (value if isinstance(value, list) else [value])
            if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if any(v != v or v in (float("inf"), float("-inf")) for v in nums):
        return f"'{p.name}' must be a finite number, got {value!r}"
    if any(abs(v) > MAX_INT for v in nums):
        return f"'{p.name}' is past the bound of {MAX_INT:,} for a spec's numbers, got {_short(value)}"
    if p.above is not None and any(v <= p.above for v in nums):
        return f"'{p.name}' must be > {p.above:g}, got {value!r}"
    lo = 1 if p.type == "channels" and p.min is None else p.min
    if lo is not None and any(v < lo for v in (value if isinstance(value, list) else [value])):
        return f"'{p.name}' must be >= {lo}, got {value!r}"
    return None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 30 else f"a {len(text)}-character number"


def arity_ok(op_: Op, n: int) -> bool:
    return {"0": n == 0, "1": n == 1, "2": n == 2, "1+": n >= 1, "2+": n >= 2}[op_.inputs]


def check_distinct(op_: Op, inputs) -> None:
    """An op that must not read one node twice (concat) refuses to."""
    twice = next((i for i in inputs if inputs.count(i) > 1), None)
    if op_.distinct and twice:
        raise GraphError(f"{op_.name} reads '{twice}' twice; name each input once")


def pair(v) -> tuple:
    return (v, v) if isinstance(v, int) else tuple(v)


def kxk(v) -> str:
    """A kernel or grid size as a reader writes it: 3x3, 1x7."""
    a, b = tuple(v) if isinstance(v, (list, tuple)) else (v, v)
    return f"{a}x{b}"


def channels(shape) -> int:
    """The channel count of a value: C of a CxHxW map or a C vector, the last dim of an LxC token sequence."""
    return shape[1] if len(shape) == 2 else shape[0]


def spatial(shape, who):
    if len(shape) != 3:
        raise GraphError(f"{who} needs a CxHxW feature map, got {list(shape)}")
    return shape


def padding(a) -> tuple:
    """A window op's padding: `p` when given, else d*(k-1)/2 per side ('same' for odd k)."""
    if a.get("p") is not None:
        return pair(a["p"])
    return tuple(d * (k - 1) // 2 for k, d in zip(pair(a["k"]), pair(a.get("d", 1))))


def _window(size, k, s, p, d, ceil=False):
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + p:  # torch: the last window must start inside the input
        out -= 1
    return out


def windows(hw, a, ceil=False):
    """Output H, W of a sliding-window op (conv, pooling) with torch's rounding."""
    k, s, d, p = a["k"], a["s"], a.get("d", 1), a.get("p")  # pair(...) inlined: shape inference's hot spot
    k, s, d = (k, k) if isinstance(k, int) else tuple(k), (s, s) if isinstance(s, int) else tuple(s), \
        (d, d) if isinstance(d, int) else tuple(d)
    p = pair(p) if p is not None else (d[0] * (k[0] - 1) // 2, d[1] * (k[1] - 1) // 2)  # padding(a)
    if ceil:
        out = (_window(hw[0], k[0], s[0], p[0], d[0], True), _window(hw[1], k[1], s[1], p[1], d[1], True))
    else:  # _window(..., ceil=False), inlined
        out = ((hw[0] + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1,
               (hw[1] + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1)
    if out[0] < 1 or out[1] < 1:
        raise GraphError(f"a {hw[0]}x{hw[1]} map is too small for kernel {list(k)}, stride {list(s)}, "
                         f"padding {list(p)}; use a larger input")
    return out


def product(*factors) -> str:
    return "·".join(str(f) for f in factors)


def fx_module(ctx, node, args):
    """Call the node's weight owner (created once from the op's `module` factory)."""
    if node.owner not in ctx.modules:
        ctx.modules[node.owner] = OPS[node.op].module(node.attrs, [ctx.shape(i) for i in node.inputs])
    return ctx.fg.call_module(node.owner, tuple(args))
