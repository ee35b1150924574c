"""A value worked out on first read and kept on the object that reads it, for the objects one chart's check makes."""

from __future__ import annotations

from typing import Any, Callable


class once:  # noqa: N801 - used as a decorator, like the property it stands for
    """``functools.cached_property`` without its lock. On Python 3.11 that property takes a lock at every first
    read, which a chart's objects (its context, its note, its readers) do not need: they are read on one thread, and
    a value worked out twice would be the same value."""

    def __init__(self, compute: Callable[[Any], Any]):
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __get__(self, owner_object: Any, owner: type | None = None) -> Any:
        if owner_object is None:
            return self
        value = owner_object.__dict__[self.name] = self.compute(owner_object)
        return value
