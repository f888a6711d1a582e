"""What a card says it is: the label under its name, and its source lines, in the reader's
language; and the content checks that keep a card from calling itself what it is not."""

from __future__ import annotations

import pytest

from bot.content.cards import CardRenderer
from bot.content.library import Library, content_documents
from bot.content.loading import load_content
from bot.i18n import translator


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.from_documents(content_documents(load_content()))


def _header(library: Library, card_id: str, language: str) -> str:
    card = library.get(card_id)
    assert card is not None
    return CardRenderer(library, translator(language)).render(card).pages[0].split("\n")[1]


def test_only_a_commemoration_is_labelled_an_anniversary(library: Library) -> None:
    """A trial of managers or a cancelled concert is a dated event, not «Памятная дата»."""
    assert _header(library, "zhanaozen-massacre", "ru").startswith("<i>Памятная дата · ")
    assert _header(library, "zhanaozen-massacre", "en").startswith("<i>Anniversary · ")
    for card_id in ("officials-trials-2012", "sting-cancels-concert", "kuramshin-freed"):
        assert _header(library, card_id, "ru").startswith("<i>Хроника · "), card_id
        assert _header(library, card_id, "en").startswith("<i>Dated event · "), card_id
    assert _header(library, "rakhat-tazhmivanov", "ru") == "<i>Пострадавшие от стрельбы</i>"


def test_a_russian_card_lists_its_sources_in_russian(library: Library) -> None:
    """Titles stay as published; "reposted by", "blog", "Socialist press" do not."""
    renderer = CardRenderer(library, translator("ru"))
    for card_id in ("zhanaozen-massacre", "arrests-and-questioning-june-2012"):
        card = library.get(card_id)
        assert card is not None
        text = "\n".join(renderer.render(card).pages)
        sources = text.split("<b>Источники</b>")[1]
        for english in ("reposted by", " blog", "Socialist press", "readers'", "campaign article"):
            assert english not in sources, (card_id, english)
    assert "перепечатка: The Russian Reader" in "\n".join(
        CardRenderer(library, translator("ru")).render(library.cards["zhanaozen-massacre"]).pages)
