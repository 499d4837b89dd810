"""The graph IR: primitive nodes with inferred shapes, built from a spec; dilation, grouping and the
tensor-free analysis walker (params, MACs, activation bytes)."""
