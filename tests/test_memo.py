"""Memo tables: each value made once, the oldest dropped past the limit, gone with the owner."""

from __future__ import annotations

import gc

from bot.memo import Memo, PerOwner


def test_values_are_made_once_and_the_oldest_goes_past_the_limit() -> None:
    made: list[str] = []
    memo: Memo[str] = Memo(limit=2)

    def make(key: str):
        return lambda: made.append(key) or key.upper()

    assert [memo.get(k, make(k)) for k in ("a", "b", "a")] == ["A", "B", "A"]
    memo.get("c", make("c"))  # "a" is the oldest: it goes
    memo.get("a", make("a"))
    assert made == ["a", "b", "c", "a"]


def test_each_owner_has_its_own_table_and_takes_it_along() -> None:
    class Owner:
        pass

    first, second = Owner(), Owner()
    memos: PerOwner[int] = PerOwner()
    assert memos.get(first, "k", lambda: 1) == 1
    assert memos.get(second, "k", lambda: 2) == 2
    assert memos.get(first, "k", lambda: 3) == 1
    del first
    gc.collect()
    assert len(memos._memos) == 1
