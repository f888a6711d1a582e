"""Bounded memo tables for what is derived from fixed content: searches, cards, list pages.

A Library never changes while it lives (a content reload builds a new one), so whatever is
computed from it can be kept, and is dropped with it. A limit keeps memory flat against
endless distinct queries: past it, the oldest entry goes.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class Memo(Generic[Value]):
    """Values by key, made once; at most ``limit`` of them (None: no limit)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._values: dict[Hashable, Value] = {}

    def get(self, key: Hashable, make: Callable[[], Value]) -> Value:
        try:
            return self._values[key]
        except KeyError:
            pass
        if self.limit is not None and len(self._values) >= self.limit:
            del self._values[next(iter(self._values))]  # the oldest: dicts keep order
        value = self._values[key] = make()
        return value


class PerOwner(Generic[Value]):
    """A ``Memo`` for each owner (a Library), forgotten when the owner is."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._memos: weakref.WeakKeyDictionary[object, Memo[Value]] = weakref.WeakKeyDictionary()

    def get(self, owner: object, key: Hashable, make: Callable[[], Value]) -> Value:
        memo = self._memos.get(owner)
        if memo is None:
            memo = self._memos[owner] = Memo(self.limit)
        return memo.get(key, make)
