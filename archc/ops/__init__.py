"""The primitive ops of the IR, one registry entry each (see archc.ops.core for what an entry holds).

One file per family: conv (conv, deconv, linear), norm (bn, act, prelu, dropout), pool (max, average,
adaptive, unpool), tensor (input, resize, add, mul, concat, shuffle, flatten, identity) and channels
(slice, split, pad).
"""
from archc.ops.core import (MAX_INT, OPS, REQUIRED, TYPES, Op, Param, arity_ok, check_distinct,  # noqa: F401
                            check_param, op, padding, pair, windows)
from archc.ops import channels, conv, norm, pool, tensor, tokens  # noqa: F401,E402  each module registers its ops
from archc.ops.norm import ACTIVATIONS, ALIASES  # noqa: F401,E402
