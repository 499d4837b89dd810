"""A small whitelisted evaluator for the arithmetic allowed in spec fields.

A field written `$in_c * t` is the expression `in_c * t`, evaluated against the
names in scope (block parameters, spec variables). Only literals, names,
arithmetic, comparisons, boolean logic, conditionals, indexing and a handful
of pure functions are allowed: specs are data, never code.
"""
from __future__ import annotations

import ast
import math
import operator
import warnings
from functools import lru_cache

from archc.errors import SpecError
from archc.ops import MAX_INT


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round v to a multiple of divisor, never going below 90% of v (MobileNet convention)."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _range(*args) -> list:
    r = range(*args)
    if len(r) > MAX_ITEMS:
        raise SpecError(f"range of {len(r)} items is longer than {MAX_ITEMS}")
    return list(r)


MAX_DIGITS = 32  # round()'s ndigits: round(8, -10**9) would compute 10**(10**9) before any bound is checked


def _round(x, ndigits=None):
    if ndigits is not None and (not isinstance(ndigits, int) or abs(ndigits) > MAX_DIGITS):
        raise SpecError(f"round(x, n): n must be an integer within +-{MAX_DIGITS}, not {ndigits}")
    return round(x, ndigits) if ndigits is not None else round(x)


FUNCTIONS = {
    "make_divisible": make_divisible, "max": max, "min": min, "int": int,
    "round": _round, "len": len, "range": _range, "abs": abs,
    "ceil": math.ceil, "floor": math.floor,
}
BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
CMPOPS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
MAX_LEN = 200
MAX_ITEMS = 4096  # longest string or list an expression may build


def _check_size(op, left, right, text) -> None:
    """`seq * n` and `seq + seq` are bounded before they are built (a let chain of doublings)."""
    if isinstance(op, ast.Mult):
        seq, n = (left, right) if isinstance(left, (str, list)) else (right, left)
        size = len(seq) * n if isinstance(seq, (str, list)) and isinstance(n, int) else 0
    elif isinstance(op, ast.Add) and isinstance(left, (str, list)) and isinstance(right, (str, list)):
        size = len(left) + len(right)
    else:
        return
    if size > MAX_ITEMS:
        raise SpecError(f"expression '{text}' builds a sequence longer than {MAX_ITEMS}")


def is_expr(value) -> bool:
    return isinstance(value, str) and value.startswith("$")


def evaluate(text: str, scope: dict):
    """Evaluate `text` (without its leading `$`) in `scope`; SpecError on anything not allowed."""
    if len(text) > MAX_LEN:
        raise SpecError(f"expression longer than {MAX_LEN} characters: '{text[:40]}...'")
    node = _parse(text.strip())
    if type(node) is ast.Name and node.id in scope:  # most expressions name one value: `$c`, `$in_c`
        return scope[node.id]
    try:
        return _bounded(_eval(node, scope, text), text)
    except (ZeroDivisionError, TypeError, IndexError, ValueError, OverflowError) as exc:
        raise SpecError(f"expression '{text}' failed: {exc}") from None


@lru_cache(maxsize=4096)
def _parse(text: str) -> ast.AST:
    """Parsed once per distinct expression: a block's expressions recur in every instance."""
    try:
        with warnings.catch_warnings():  # Python's SyntaxWarnings ('1if x') are refusals, not a stray stderr line
            warnings.simplefilter("error", SyntaxWarning)
            return ast.parse(text, mode="eval").body
    except (SyntaxError, SyntaxWarning):
        raise SpecError(f"cannot parse expression '{text}'") from None


def _eval(node, scope, text):  # noqa: C901 - one small dispatch over the allowed node kinds
    ev = lambda n: _eval(n, scope, text)  # noqa: E731
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return _bounded(node.value, text)
    if isinstance(node, ast.Name):
        if node.id in scope:
            return scope[node.id]
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        known = ", ".join(sorted(k for k in scope if not k.startswith("_")))
        raise SpecError(f"unknown name '{node.id}' in expression '{text}' (known: {known})")
    if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
        left, right = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise SpecError(f"exponent too large in expression '{text}'")
        if isinstance(node.op, ast.Mod) and isinstance(left, str):  # printf formatting: '%.400000000f' % 1.0
            raise SpecError(f"'%' formats strings in expression '{text}'; expressions compute numbers (no formatting)")
        _check_size(node.op, left, right, text)
        return _bounded(BINOPS[type(node.op)](left, right), text)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        v = ev(node.operand)
        return _bounded(-v if isinstance(node.op, ast.USub) else (+v if isinstance(node.op, ast.UAdd) else not v), text)
    if isinstance(node, ast.BoolOp):
        vals = (ev(v) for v in node.values)
        return all(vals) if isinstance(node.op, ast.And) else any(vals)
    if isinstance(node, ast.Compare) and all(type(o) in CMPOPS for o in node.ops):
        left = ev(node.left)
        for op, comp in zip(node.ops, node.comparators):
            right = ev(comp)
            if not CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return ev(node.body) if ev(node.test) else ev(node.orelse)
    return _eval_rest(node, ev, text)


def _eval_rest(node, ev, text):
    """Lists, indexing and the allowed function calls; anything else is refused."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [ev(e) for e in node.elts]
    if isinstance(node, ast.Subscript):
        return ev(node.value)[ev(node.slice)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        if node.keywords:
            raise SpecError(f"keyword arguments are not allowed in expression '{text}'")
        return _bounded(FUNCTIONS[node.func.id](*[ev(a) for a in node.args]), text)
    raise SpecError(f"'{ast.unparse(node)}' is not allowed in expression '{text}' "
                    f"(allowed: arithmetic, comparisons, and/or/not, x if c else y, "
                    f"{', '.join(sorted(FUNCTIONS))})")


def _bounded(value, text):
    """Every value an expression makes is within the one bound a spec's numbers have (archc.ops.MAX_INT)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"expression '{text}' gives {value}, not a finite number")
    if isinstance(value, (int, float)) and abs(value) > MAX_INT:
        shown = value if abs(value) < 10**30 else f"a {len(str(abs(int(value))))}-digit number"
        raise SpecError(f"expression '{text}' gives {shown}, past the bound of {MAX_INT:,} for a spec's numbers")
    if isinstance(value, (str, list)) and len(value) > MAX_ITEMS:
        raise SpecError(f"expression '{text}' builds a sequence longer than {MAX_ITEMS}")
    return value


def resolve(value, scope: dict):
    """Evaluate `value` if it is an expression, recursing into lists; else return it."""
    if is_expr(value):
        return evaluate(value[1:], scope)
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    return value
