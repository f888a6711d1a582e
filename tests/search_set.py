"""The search test set (``search_queries.yaml``) and how one answer is judged against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.content.library import PEOPLE_KINDS, Library
from bot.content.search import SearchResult

QUERIES = Path(__file__).with_name("search_queries.yaml")
KINDS: dict[str | None, tuple[str, ...] | None] = {
    None: None,
    "prisoner": PEOPLE_KINDS,
    "anniversary": ("anniversary",),
}


def load() -> list[dict[str, Any]]:
    return yaml.safe_load(QUERIES.read_text(encoding="utf-8"))


def answer(library: Library, item: dict[str, Any]) -> SearchResult:
    return library.search(item["q"], KINDS[item.get("kind")])


def judge(result: SearchResult, want: Any) -> bool:
    """True when the result is what the set expects (see the file's header)."""
    ids = [card.id for card in result.cards]
    if want == "none":
        return not ids
    if want == "some":
        return bool(ids)
    if isinstance(want, str):
        return result.opens and ids[:1] == [want]
    if isinstance(want, list):
        return not result.opens and set(want) <= set(ids)
    nearest = [card.id for card in result.nearest]
    return not ids and nearest == [want["before"], want["after"]]


def score(library: Library) -> tuple[float, list[tuple[str, Any, list[str]]]]:
    """The share of the set answered right, and what was answered wrong."""
    items = load()
    wrong = []
    for item in items:
        result = answer(library, item)
        if not judge(result, item["want"]):
            got = [c.id for c in result.cards] or [f"~{c.id}" for c in result.nearest]
            wrong.append((item["q"], item["want"], [*got[:4], *filter(None, [result.intent])]))
    return 1 - len(wrong) / len(items), wrong
