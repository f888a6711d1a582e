"""Card lists: pages within Telegram's limits, in the reader's language, built once a day."""

from __future__ import annotations

from datetime import date

import pytest

from bot.content.library import Library, content_documents
from bot.content.lists import LIST_KINDS, PAGE_SIZE, list_page
from bot.content.loading import load_content
from bot.i18n import translator

TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.from_documents(content_documents(load_content()))


@pytest.mark.parametrize("kind", sorted(LIST_KINDS))
def test_every_page_of_every_list_opens_its_cards(library: Library, kind: str) -> None:
    en, ru = translator("en"), translator("ru")
    first, _ = list_page(library, en, kind, 0, TODAY)
    pages = int(first.split("(1/")[1].split(")")[0])
    opened = []
    for page in range(pages):
        text, markup = list_page(library, en, kind, page, TODAY)
        buttons = [
            row[0].callback_data
            for row in markup.inline_keyboard
            if row[0].callback_data.startswith("card")
        ]
        assert 0 < len(buttons) <= PAGE_SIZE and len(text) < 4096
        opened += buttons
    assert len(opened) == len(set(opened))
    assert list_page(library, ru, kind, 0, TODAY)[0] != first  # the reader's language


def test_pages_are_built_once_per_day_and_language(library: Library) -> None:
    en = translator("en")
    assert list_page(library, en, "a", 0, TODAY) is list_page(library, en, "a", 0, TODAY)
    tomorrow = list_page(library, en, "a", 0, date(2026, 12, 2))
    assert tomorrow is not list_page(library, en, "a", 0, TODAY)
    beyond = list_page(library, en, "p", 999, TODAY)  # a stale button: the last page
    assert "▸" not in str(beyond[1].to_dict())


def _listed(library: Library, kind: str) -> list[str]:
    en = translator("en")
    first, _ = list_page(library, en, kind, 0, TODAY)
    pages = int(first.split("(1/")[1].split(")")[0])
    return [
        row[0].callback_data.split(":")[1]
        for page in range(pages)
        for row in list_page(library, en, kind, page, TODAY)[1].inline_keyboard
        if row[0].callback_data.startswith("card")
    ]


def test_the_shot_and_wounded_are_neither_prisoners_nor_in_memory(library: Library) -> None:
    """Two men struck by the bullet that killed Zhanar Abdikarimova were never said to be
    jailed: /prisoners does not list them, their own list does, opened from "In memory"."""
    wounded = {"rakhat-tazhmivanov", "rzabek-makhambet"}
    assert wounded <= set(_listed(library, "w"))
    assert not wounded & (set(_listed(library, "p")) | set(_listed(library, "m")))
    _, markup = list_page(library, translator("ru"), "m", 0, TODAY)
    assert "list:w" in {button.callback_data for row in markup.inline_keyboard for button in row}
