"""A card as one self-contained message, for inline mode to post into any chat.

A shared card lands in chats where the bot is not a member and is often forwarded further, so
the message stands on its own: the card's first page (trimmed to fit one message, never its
sources), an "as of" date and a link back to the bot.
"""

from __future__ import annotations

from telegram.helpers import create_deep_linked_url

from bot.content.cards import MESSAGE_LIMIT, CardRenderer, attr, esc, visible_length
from bot.content.library import Library
from bot.content.schema import Card, parse_partial_date
from bot.i18n import Translator
from bot.memo import PerOwner

TRIM_ORDER = (
    "actions",
    "ill_treatment",
    "demands",
    "commemoration",
    "open_questions",
    "disagreements",
    "figures",
    "charges",
    "timeline",
)
"""What a card longer than one message gives up first: the reverse of the order it is read in,
so what remains is the card's first page, always with its sources."""

_texts: PerOwner[str] = PerOwner()
"""Rendered share texts per library (one per card, language and bot name)."""


def share_text(library: Library, tr: Translator, bot_username: str, card: Card) -> str:
    """The whole card as one message, or its first part with a link to the rest."""
    return _texts.get(
        library,
        (tr.language, bot_username, card.id),
        lambda: _compose(library, tr, bot_username, card),
    )


def _compose(library: Library, tr: Translator, bot_username: str, card: Card) -> str:
    renderer = CardRenderer(library, tr, bot_username=None)
    shown = card
    while True:
        pages = renderer.render(shown).pages
        text = _with_footer(library, tr, bot_username, shown, pages[0], trimmed=shown != card)
        if len(pages) == 1 and visible_length(text) <= MESSAGE_LIMIT:
            return text
        smaller = _drop_last_fact(shown)
        if smaller is None:
            return text  # summary, sentence and status alone: always well under the limit
        shown = smaller


def _drop_last_fact(card: Card) -> Card | None:
    for field in TRIM_ORDER:
        items = getattr(card, field)
        if items:
            return card.model_copy(update={field: items[:-1]})
    return None


def _with_footer(
    library: Library, tr: Translator, bot_username: str, card: Card, page: str, *, trimmed: bool
) -> str:
    _ = tr.gettext
    lines = [page]
    as_of = facts_as_of(library, card)
    if card.status is None and as_of:
        as_of_line = _("Facts as of %(date)s (latest source).") % {"date": tr.partial_date(as_of)}
        lines.append(f"<i>{esc(as_of_line)}</i>")
    label = _("Read the full card in the bot") if trimmed else _("Open this card in the bot")
    link = create_deep_linked_url(bot_username, card.id)
    lines.append(f'<a href="{attr(link)}">{esc(label)}</a>')
    return "\n\n".join(lines)


def facts_as_of(library: Library, card: Card) -> str | None:
    """Date of the newest source the card cites: nothing on it is newer than that."""
    dates = [library.sources[s].date for s in card.source_ids() if s in library.sources]
    return max(
        dates,
        key=lambda value: tuple(part or 0 for part in parse_partial_date(value)),
        default=None,
    )
