"""Hypothesis strategies: random valid specs built from the block library: convs with
square and non-square kernels and dilation, grouped deconvs, ceil-mode pooling, shuffle,
SE and element-wise mul, PPMs with non-square bins, and linear heads.

A spec is generated row by row while tracking each row's channels and stride, so
that merges (add of equal shapes, concat of equal strides, upsample-and-concat
skips) and pooling bins are valid by construction; the input is a multiple of
the total stride."""
from __future__ import annotations

from hypothesis import strategies as st

ACTS = ["relu", "relu6", "hardswish", "none"]


@st.composite
def rows(draw, n_rows):
    """Rows of one stage; returns (rows, input channels, total stride)."""
    out, meta = [], []  # meta: (channels, stride) of each row's output
    c, s = draw(st.sampled_from([1, 3, 4])), 1
    in_c = c
    for i in range(n_rows):
        row, c, s = draw(_row(i, c, s, meta))
        out.append(row)
        meta.append((c, s))
    return out, in_c, max(m[1] for m in meta)


@st.composite
def _row(draw, i, c, s, meta):
    kinds = ["conv", "dsconv", "bottleneck", "pool"] + (["shuffle", "se"] if c >= 4 and c % 2 == 0 else [])
    if s >= 2:
        kinds.append("deconv")  # a learned x2 upsampling: the stride goes back one step
    if any(m == (c, s) for m in meta[:-1]):
        kinds += ["add", "mul"]
    if any(m[1] == s for m in meta[:-1]):
        kinds.append("concat")
    if any(m[1] < s for m in meta):
        kinds.append("skip")
    if i > 0 and s >= 2 and c >= 4:
        kinds.append("ppm")
    kind = draw(st.sampled_from(kinds))
    down = draw(st.sampled_from([1, 2])) if s < 16 else 1
    ch = draw(st.integers(1, 6)) * 4
    rid = f"r{i}"
    if kind == "conv":  # square and non-square kernels, dilated or not (odd sizes keep 'same' padding)
        k = draw(st.sampled_from([1, 3, 5, [1, 3], [3, 1], [3, 5]]))
        return {"op": "conv_bn_act", "id": rid, "c": ch, "k": k, "d": draw(st.sampled_from([1, 2])), "s": down,
                "act": draw(st.sampled_from(ACTS))}, ch, s * down
    if kind == "deconv":
        g = draw(st.sampled_from([g for g in (1, 2, 4) if c % g == 0]))
        return {"op": "deconv", "id": rid, "c": ch, "groups": g}, ch, s // 2
    if kind == "shuffle":
        return {"op": "shuffle", "id": rid, "groups": 2}, c, s
    if kind == "se":
        return {"op": "se", "id": rid}, c, s
    if kind == "mul":
        j = draw(st.sampled_from([k for k, m in enumerate(meta[:-1]) if m == (c, s)]))
        return {"op": "mul", "id": rid, "from": [f"r{j}", f"r{i - 1}"]}, c, s
    if kind == "dsconv":
        return {"op": "dsconv", "id": rid, "c": ch, "s": down, "dw_act": draw(st.sampled_from(ACTS))}, ch, s * down
    if kind == "bottleneck":
        n, t = draw(st.integers(1, 3)), draw(st.sampled_from([1, 2, 6]))
        return {"op": "bottleneck", "id": rid, "t": t, "c": ch, "n": n, "s": down}, ch, s * down
    if kind == "pool":
        return {"op": "maxpool" if draw(st.booleans()) else "avgpool", "id": rid, "k": 2,
                "ceil": draw(st.booleans())}, c, s * 2
    if kind == "add":
        j = draw(st.sampled_from([k for k, m in enumerate(meta[:-1]) if m == (c, s)]))
        return {"op": "add", "id": rid, "from": [f"r{j}", f"r{i - 1}"]}, c, s
    if kind == "concat":
        j = draw(st.sampled_from([k for k, m in enumerate(meta[:-1]) if m[1] == s]))
        return {"op": "concat", "id": rid, "from": [f"r{i - 1}", f"r{j}"]}, c + meta[j][0], s
    if kind == "skip":  # upsample the current map to an earlier, finer one: a decoder skip
        j = draw(st.sampled_from([k for k, m in enumerate(meta) if m[1] < s]))
        return {"op": "resize", "id": rid, "to": f"r{j}", "mode": draw(st.sampled_from(["bilinear", "nearest"]))}, c, meta[j][1]
    bins = draw(st.lists(st.sampled_from([1, 2, [1, 2], [2, 1]]), min_size=1, max_size=3, unique_by=str))
    return {"op": "ppm", "id": rid, "bins": bins, "shared": draw(st.booleans()),
            "branch_bn": draw(st.booleans())}, c, s


@st.composite
def specs(draw):
    """A random valid spec as a plain dict (what yaml.safe_load would give)."""
    body, in_c, total = draw(rows(draw(st.integers(1, 7))))
    mult = draw(st.sampled_from([1, 2, 3]))
    size = total * 2 * mult  # >= 2 at the coarsest map, so 2-bin pooling always fits
    head = draw(st.sampled_from(["seg", "cls", "conv", "linear"]))
    last = {"seg": [{"op": "seg_head", "c": "$classes", "width": "fixed"}],
            "cls": [{"op": "pool_linear", "c": "$classes", "p": 0.1, "width": "fixed"}],
            "conv": [{"op": "conv", "c": "$classes", "k": 1, "bias": True, "width": "fixed"}],
            "linear": [{"op": "adaptive_avgpool", "size": draw(st.sampled_from([1, [1, 2], [2, 1]]))},
                       {"op": "flatten"}, {"op": "linear", "c": "$classes", "width": "fixed"}]}[head]
    spec = {
        "name": "generated",
        "input": [in_c, size, size * draw(st.sampled_from([1, 2]))],
        "vars": {"classes": draw(st.integers(1, 5))},
        "width": {"multiplier": 1.0, "round": draw(st.sampled_from(["floor", "nearest", "ceil"])),
                  "divisor": draw(st.sampled_from([1, 2, 4]))},
        "stages": [{"id": "body", "rows": body}, {"id": "head", "rows": last}],
    }
    return spec


def widths():
    return st.sampled_from(["1", "0.75", "0.5", "0.25"])
