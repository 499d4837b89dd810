"""`cached`: a value worked out from a frozen instance's fields on first use (Spec, Stage and Row's
`content_key`, by which a workspace remembers graphs and pass results)."""
from __future__ import annotations


class cached:
    """A value worked out from a frozen instance's fields on first use and kept in its `__dict__`, as
    functools.cached_property does (without its per-class lock, which Python 3.12 removed)."""

    def __init__(self, fn):
        self.fn, self.__doc__ = fn, fn.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)  # a non-data descriptor: the next lookup finds it
        return value

    @staticmethod
    def seed(obj, name: str, value) -> None:
        """Give a just-made instance the value its `name` would work out (its maker knows it already)."""
        obj.__dict__[name] = value
