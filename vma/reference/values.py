"""Small immutable value types (a code's entry, a rule, a note's code reference), written out in full.

``@dataclass`` writes a class's ``__init__``, ``__eq__``, ``__hash__``, ``__repr__`` and frozen setters as
source text and compiles it each time the module is imported: for the value types every ``vma check``
loads, that compiling was a visible share of starting the command. Here the shared methods are written
once, and each type writes its own ``__init__``; they behave as a frozen dataclass with the same fields.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from operator import attrgetter
from typing import Any

# How a value's ``__init__`` sets its fields past the frozen setter, as a frozen dataclass's does.
set_field = object.__setattr__


class Value:
    """Fields are the ``__slots__``, in order (two or more), set once by the subclass's ``__init__`` with
    ``set_field``. Compared, hashed, shown and pickled field by field, as a frozen dataclass with slots."""

    __slots__ = ()
    _field_values: Any = None  # per class: the fields' values as a tuple, in order

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._field_values = attrgetter(*cls.__slots__)
        cls.__match_args__ = cls.__slots__

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._field_values(self) == self._field_values(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._field_values(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    # The state a frozen dataclass with slots pickles (its fields' values in a list): the compiled index
    # holds note references pickled so.
    def __getstate__(self) -> list:
        return list(self._field_values(self))

    def __setstate__(self, state: list) -> None:
        for name, value in zip(self.__slots__, state):
            set_field(self, name, value)
