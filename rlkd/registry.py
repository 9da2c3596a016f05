"""A generic name → factory registry: the plug-in point for losses, models, policies and ablations.

A new plug-in is one file that decorates its factory with ``@REGISTRY.register("key")`` and is imported
from its package ``__init__``. Duplicate keys and unknown keys fail loudly with the known names listed.
"""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from rlkd.errors import RLKDError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps short, stable keys to factories of one kind (``kind`` names it in error messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._entries:
                raise RLKDError(f"duplicate {self.kind} '{name}': each key is registered once; rename one of them")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise RLKDError(
                f"unknown {self.kind} '{name}'; known: {', '.join(sorted(self._entries))}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
