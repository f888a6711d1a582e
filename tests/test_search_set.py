"""The search test set: realistic queries in English and Russian and what each must give."""

from __future__ import annotations

import pytest
from search_set import load, score

from bot.content.library import Library, content_documents
from bot.content.loading import load_content

TARGET = 0.97


@pytest.fixture(scope="module")
def library():
    return Library.from_documents(content_documents(load_content()))


def test_the_set_is_large_and_covers_every_kind_of_query():
    items = load()
    assert len(items) >= 200
    wants = [item["want"] for item in items]
    assert "none" in wants and "some" in wants
    assert any(isinstance(want, list) for want in wants)  # a month's cards
    assert any(isinstance(want, dict) for want in wants)  # the nearest dated cards
    assert {item.get("kind") for item in items} >= {None, "prisoner", "anniversary"}


def test_the_set_scores_at_least_97_percent(library):
    share, wrong = score(library)
    assert share >= TARGET, "\n".join(map(repr, wrong))


@pytest.mark.parametrize("query", [item["q"] for item in load() if item["want"] == "none"])
def test_greetings_and_chatter_never_open_a_card(library, query):
    """Held to every such item, not to the 97%: a greeting answered with a card is the first
    thing a new user would see go wrong."""
    assert not library.search(query).cards, query
