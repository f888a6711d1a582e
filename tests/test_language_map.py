"""Cards by language: the move from two fixed fields to a language map changed no English or
Russian word on any card, and a further language is data in the same YAML."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bot.content.cards import CardRenderer
from bot.content.library import Library
from bot.content.schema import Card, Fact, Text
from bot.content.share_text import share_text
from bot.i18n import translator

BEFORE = Path(__file__).parent / "fixtures" / "renderings-before-language-map.json.gz"
"""Every card's content just before the language map and its English and Russian renderings
by the code of then: main's 772a004 with branch i20 merged (785d937), the commit this
branch's language map was merged onto (made by tests/fixtures/capture_renderings.py)."""


def _before() -> dict:
    with gzip.open(BEFORE, "rt", encoding="utf-8") as file:
        return json.load(file)


def test_english_and_russian_renderings_unchanged_by_the_language_map():
    before = _before()
    library = Library.from_documents(before["documents"])
    assert set(library.cards) == set(before["renderings"])
    assert len(library.cards) >= 80
    changed = []
    for language in ("en", "ru"):
        tr = translator(language)
        renderer = CardRenderer(library, tr, "your_bot")
        for card in library.cards.values():
            then = before["renderings"][card.id][language]
            if renderer.render(card).pages != then["pages"]:
                changed.append(f"{card.id} ({language}) pages")
            if share_text(library, tr, "your_bot", card) != then["share"]:
                changed.append(f"{card.id} ({language}) shared text")
    assert not changed, f"renderings changed: {changed[:5]}"


def test_a_further_language_sits_beside_english_and_russian():
    fact = Fact.model_validate(
        {"en": "Shot.", "ru": "Убит.", "kk": "Атып өлтірілді.", "sources": ["s"]}
    )
    assert fact.texts == {"en": "Shot.", "ru": "Убит.", "kk": "Атып өлтірілді."}
    assert fact.get("kk") == "Атып өлтірілді."
    # Stored and read back (the TinyDB content store) in the same flat shape.
    assert fact.model_dump()["kk"] == "Атып өлтірілді."
    assert Fact.model_validate(fact.model_dump()) == fact


def test_a_text_without_kazakh_falls_back_to_russian():
    text = Text.model_validate({"en": "Zhanaozen", "ru": "Жанаозен"})
    assert not text.has("kk")
    assert text.get("kk") == "Жанаозен"
    assert text.get("en") == "Zhanaozen"


@pytest.mark.parametrize(
    "document",
    [
        {"en": "a", "ru": "b", "de": "c"},  # not one of the bot's languages
        {"en": "a", "ru": "b", "kk": "  "},  # an empty translation
        {"en": "a", "kk": "c"},  # Russian is required
    ],
)
def test_a_text_must_be_in_english_and_russian_and_known_languages(document):
    with pytest.raises(ValueError):
        Text.model_validate(document)


def test_card_languages_are_those_of_every_text():
    before = _before()
    document = next(d for d in before["documents"]["cards"] if d["id"] == "roza-tuletaeva")
    card = Card.model_validate(document)
    assert card.languages == ("en", "ru")
    assert card.text_language("kk") == "ru"
    document = json.loads(json.dumps(document))
    document["name"]["kk"] = "Роза Тулетаева"
    assert Card.model_validate(document).languages == ("en", "ru")  # only the name: half
