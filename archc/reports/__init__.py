"""One-model reports over a compiled spec: graph drawings, explain and diff."""
