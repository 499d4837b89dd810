"""The documented Python API: what the CLI does, callable from a notebook without private modules."""
