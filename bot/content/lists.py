"""The card lists (/prisoners, /anniversaries, "In memory") as pages of text and buttons.

A page depends only on the content, the language and the day (the calendar counts down to
each date), so it is built once per (kind, page, language, day) and reused: on a busy day
thousands of people open the same first page.
"""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.content.cards import age_line, esc, shorten
from bot.content.library import Library
from bot.content.schema import Card
from bot.i18n import Translator
from bot.memo import PerOwner

PAGE_SIZE = 8
"""List entries per page: fits a phone screen with the navigation row."""
LIST_KINDS = {"p": ("prisoner",), "m": ("memorial",), "w": ("wounded",), "a": ("anniversary",)}
"""Callback codes of the lists (short: callback data has 64 bytes) and the cards in each."""
LABEL_LIMIT = 48

ListPage = tuple[str, InlineKeyboardMarkup]

PAGE_CACHE_SIZE = 256
_pages: PerOwner[ListPage] = PerOwner(PAGE_CACHE_SIZE)


def card_buttons(cards: list[Card], tr: Translator) -> InlineKeyboardMarkup:
    """One button per card, opening it."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    shorten(card.name.get(tr.language), LABEL_LIMIT),
                    callback_data=callbacks.build("card", card.id),
                )
            ]
            for card in cards
        ]
    )


def list_page(library: Library, tr: Translator, kind: str, page: int, today: date) -> ListPage:
    """Page ``page`` (clamped to the pages there are) of list ``kind``, in ``tr``'s language."""
    return _pages.get(
        library, (kind, page, tr.language, today), lambda: _build(library, tr, kind, page, today)
    )


def _build(library: Library, tr: Translator, kind: str, page: int, today: date) -> ListPage:
    _ = tr.gettext
    if kind == "a":
        entries = [
            (
                occ.card,
                f"{tr.date(occ.day, 'd MMM')} · {occ.card.name.get(tr.language)}",
                age_line(tr, occ.card, today),
            )
            for occ in library.calendar(today)
        ]
        title = _("Anniversaries, next first")
    else:
        entries = [
            (card, card.name.get(tr.language), "") for card in library.people(LIST_KINDS[kind])
        ]
        title = {
            "p": _("Prisoners and the persecuted"),
            "m": _("In memory"),
            "w": _("Shot or wounded; the sources do not say what became of them"),
        }[kind]
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = max(0, min(page, pages - 1))
    chunk = entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines = [f"<b>{esc(title)}</b> ({page + 1}/{pages})"]
    for _card, label, extra in chunk:
        lines.append(f"• {esc(label)}" + (f" — <i>{esc(extra)}</i>" if extra else ""))
    if not chunk:
        lines.append(esc(_("No cards yet.")))
    rows = [
        [
            InlineKeyboardButton(
                shorten(label, LABEL_LIMIT), callback_data=callbacks.build("card", card.id)
            )
        ]
        for card, label, _extra in chunk
    ]
    nav = [
        InlineKeyboardButton(arrow, callback_data=callbacks.build("list", kind, target))
        for arrow, target in (("◂", page - 1), ("▸", page + 1))
        if 0 <= target < pages
    ]
    if nav:
        rows.append(nav)
    if kind == "m" and library.people(LIST_KINDS["w"]):
        # The wounded are neither prisoners nor in memory: their list opens from this one.
        rows.append(
            [
                InlineKeyboardButton(
                    _("Shot or wounded ▸"), callback_data=callbacks.build("list", "w")
                )
            ]
        )
    elif kind == "w":
        rows.append(
            [InlineKeyboardButton(_("◂ In memory"), callback_data=callbacks.build("list", "m"))]
        )
    rows.append([InlineKeyboardButton(_("◂ Menu"), callback_data=callbacks.build("menu", "main"))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)
