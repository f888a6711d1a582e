"""Inline mode: which cards answer a query, and what each one posts (a card's message is
``bot.content.share_text``).

A shared card lands in chats where the bot is not a member and is often forwarded further, so
every message built here stands on its own: title, key facts, an "as of" date, the sources and
a link back to the bot. Plain Python, so tests and benchmarks call it without Telegram.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

from telegram.helpers import create_deep_linked_url

from bot.content import folding
from bot.content.cards import STATUS_LABELS, shorten
from bot.content.folding import normalise
from bot.content.intent import ignored_words
from bot.content.library import Library, next_occurrence
from bot.content.schema import Card, parse_partial_date
from bot.content.share_text import share_text
from bot.i18n import N_, Translator, card_fallback, translator
from bot.memo import PerOwner

if TYPE_CHECKING:
    pass

PAGE_SIZE = 20
"""Results per answer. Telegram allows 50, but every result carries a whole card (up to 4 KB),
so smaller pages reach a phone sooner; the client fetches the next page as the user scrolls."""
MAX_RESULTS = 50
"""Telegram's hard limit per answerInlineQuery."""
CACHE_SECONDS = 300
"""Cards change only on redeploy; "in 3 days" lines change daily, so minutes, not hours."""
MAX_QUERY = 100
"""Inline queries may be 256 characters; no name or date is longer than this."""
MAX_RESULT_ID = 64
TITLE_LIMIT = 64
DESCRIPTION_LIMIT = 120
"""Clients show about two lines under a result's title; longer text is cut mid-word."""
DEFAULT_PRISONERS = 3
"""How many prisoners the empty query offers after the anniversaries."""
DEC16_CARD = "zhanaozen-massacre"

NO_RESULTS_PAYLOAD = "inline"
"""Start parameter of the "open the bot" button shown when nothing matched; /start treats it
as unknown and shows the welcome and menu, which is what such a user needs."""

OTHER_LANGUAGE_LABELS = {"en": N_("In English"), "ru": N_("In Russian"), "kk": N_("In Kazakh")}

# Words that ask for a whole kind of card rather than a name (compared as name skeletons).
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "prisoner": (
        "prisoner",
        "prisoners",
        "political prisoners",
        "jailed",
        "заключенные",
        "заключенный",
        "политзаключенные",
        "узники",
        "тұтқындар",
        "саяси тұтқындар",
    ),
    "memorial": (
        "memorial",
        "in memory",
        "killed",
        "died",
        "память",
        "погибшие",
        "погибли",
        "еске алу",
        "қаза тапқандар",
    ),
    "wounded": (
        "wounded",
        "injured",
        "shot or wounded",
        "раненые",
        "ранены",
        "пострадавшие",
        "жараланғандар",
    ),
    "anniversary": (
        "anniversary",
        "anniversaries",
        "calendar",
        "dates",
        "годовщина",
        "годовщины",
        "памятные даты",
        "календарь",
        "атаулы күндер",
        "күнтізбе",
    ),
    "event": (
        "protest",
        "protests",
        "demo",
        "picket",
        "embassy",
        "protest action",
        "акция",
        "акции",
        "протест",
        "протесты",
        "пикет",
        "посольство",
        "митинг",
        "наразылық",
        "наразылық акциясы",
        "елшілік",
    ),
}


@dataclass(frozen=True, slots=True)
class SharedItem:
    """One inline result, Telegram-free: the handler turns it into an InlineQueryResultArticle."""

    result_id: str
    title: str
    description: str
    text: str
    """Telegram HTML, complete on its own, at most 4096 characters once parsed."""
    link: str
    """Deep link (or other URL) for the button under the posted message."""
    link_label: str
    share_query: str
    """Pre-filled inline query for the Share button, so the card can travel on."""


@dataclass(frozen=True, slots=True)
class EventShare:
    """An upcoming protest as something shareable (built by ``bot.protests.repository``)."""

    id: str
    names: tuple[str, ...]
    """City and venue in every language, matched like card names."""
    starts: datetime
    build: Callable[[Translator, str], SharedItem]
    """Renders the event in one language for a bot username."""


@dataclass(frozen=True, slots=True)
class InlinePage:
    items: list[SharedItem]
    next_offset: str
    """"" on the last page, as Telegram expects."""


Entry = tuple[Card | EventShare, str]
"""Something to show and the language to show it in."""


def clean_query(query: str) -> str:
    """The query cut to a searchable length; emoji and punctuation alone count as empty."""
    text = " ".join(query[:MAX_QUERY].split())
    return text if normalise(text) else ""


def inline_page(
    library: Library,
    tr: Translator,
    bot_username: str,
    query: str,
    offset: str,
    today: date,
    events: Sequence[EventShare] = (),
    page_size: int = PAGE_SIZE,
) -> InlinePage:
    """One page of results for an inline query, in ``tr``'s language, from ``offset`` on."""
    if offset and not offset.isdecimal():
        return InlinePage([], "")  # not an offset we gave out: end the list
    start = int(offset or 0)
    size = max(1, min(page_size, MAX_RESULTS))
    entries = _cached_entries(library, clean_query(query), tr.language, today, events)
    chunk = entries[start : start + size]
    items = [
        _item(library, subject, translator(language), bot_username, tr.language, today)
        for subject, language in chunk
    ]
    more = start + size < len(entries)
    return InlinePage(items, str(start + size) if more else "")


ENTRY_CACHE_SIZE = 512
"""Queries remembered per library: scrolling to the next page repeats the same search."""
_entries: PerOwner[list[Entry]] = PerOwner(ENTRY_CACHE_SIZE)


def _cached_entries(
    library: Library, query: str, language: str, today: date, events: Sequence[EventShare]
) -> list[Entry]:
    key = (query.casefold(), language, today, tuple((e.id, e.starts) for e in events))
    return _entries.get(
        library, key, lambda: matching_entries(library, query, language, today, events)
    )


def matching_entries(
    library: Library, query: str, language: str, today: date, events: Sequence[EventShare] = ()
) -> list[Entry]:
    """Everything that answers the query, best first, without duplicates."""
    if not query:
        subjects: list[Card | EventShare] = [
            *default_cards(library, today),
            *events[:1],
            *_all_cards(library, today),
            *events,
        ]
        return [(subject, language) for subject in _unique(subjects)]
    # The one search's first card comes first when it is the answer (as in a private chat);
    # otherwise upcoming protests, and lists asked for by a word like "protests", come
    # before cards that only partly match: "London" wants next week's protest there more
    # than a historical card with London in its name.
    result = library.search(query)
    if result.intent is not None:
        return matching_entries(library, "", language, today, events)
    cards = list(result.cards or result.nearest or result.suggestions)
    listed = _kind_matches(library, query, today, events)  # "prisoners": the list, not a card
    first = cards[:1] if result.opens and not listed else []
    found: Sequence[Card | EventShare] = _unique(
        [*first, *_events_matching(query, events), *listed, *cards]
    )
    entries: list[Entry] = [(subject, language) for subject in found]
    if first and found[0] is first[0]:
        # The best match also in the other language: sharers often post into a group that
        # reads the other one (an English-speaking campaigner, a Russian-speaking union); a
        # Kazakh sharer's other language is Russian.
        other = card_fallback(language)
        if other == language:
            other = "ru"
        entries.insert(1, (found[0], other))
    return entries


def default_cards(library: Library, today: date) -> list[Card]:
    """What the empty query offers first: the next anniversary, 16 December, a few prisoners."""
    picked: list[Card] = []
    calendar = library.calendar(today)
    if calendar:
        next_day = [occ.card for occ in calendar if occ.day == calendar[0].day]
        picked.append(min(next_day, key=_campaign_first))
    dec16 = library.get(DEC16_CARD)
    if dec16 is not None:
        picked.append(dec16)
    related = dec16.related if dec16 else []
    prisoners = sorted(
        library.people(("prisoner",)),
        key=lambda card: (
            card.id not in related,
            not (card.status and card.status.value == "jailed"),
        ),
    )
    picked.extend(prisoners[:DEFAULT_PRISONERS])
    return _unique(picked)


def _campaign_first(card: Card) -> tuple[bool, int]:
    """Among cards on one day: 16 December 2011 first, then the most recent events."""
    return card.id != DEC16_CARD, -(card.year or 0)


def _all_cards(library: Library, today: date) -> list[Card]:
    """Every card, for scrolling on past the defaults: the calendar, then people by surname."""
    return [
        *(occ.card for occ in library.calendar(today)),
        *library.anniversaries(),
        *library.people(),
    ]


def _events_matching(query: str, events: Sequence[EventShare]) -> list[EventShare]:
    by_id = {event.id: event for event in events}
    return [by_id[event.id] for event in events if _mentions(query, event.names)]


def _mentions(query: str, names: Iterable[str]) -> bool:
    """True when every word typed is a word of one of the names, in any form, or begins
    one ("Lond", «Лондоне»): how an upcoming protest is found by its city or venue."""
    ignored = ignored_words()
    typed = [folding.keys(w) for w in folding.words(query) if w not in ignored]
    if not typed:
        return False
    for name in names:
        own = [folding.keys(w) for w in folding.words(name)]
        if all(
            any(t & o or any(k.startswith(s) for k in o for s in t if len(s) >= 3) for o in own)
            for t in typed
        ):
            return True
    return False


def _kind_matches(
    library: Library, query: str, today: date, events: Sequence[EventShare]
) -> list[Card | EventShare]:
    wanted = normalise(query)
    matched: list[Card | EventShare] = []
    for kind, words in _KIND_WORDS.items():
        if not any(normalise(word) == wanted for word in words):
            continue
        if kind == "event":
            matched.extend(events)
        elif kind == "anniversary":
            matched.extend(occ.card for occ in library.calendar(today))
        else:
            matched.extend(library.people((kind,)))
    return matched


Subject = TypeVar("Subject", bound="Card | EventShare")


def _unique(subjects: Sequence[Subject]) -> list[Subject]:
    seen: dict[tuple[str, str], Subject] = {}
    for subject in subjects:
        key = ("event" if isinstance(subject, EventShare) else "card", subject.id)
        seen.setdefault(key, subject)
    return list(seen.values())


def _item(
    library: Library,
    subject: Card | EventShare,
    tr: Translator,
    bot_username: str,
    reader_language: str,
    today: date,
) -> SharedItem:
    if isinstance(subject, EventShare):
        return subject.build(tr, bot_username)
    return card_item(library, tr, bot_username, subject, today, reader_language)


ITEM_CACHE_SIZE = 1024
_items: PerOwner[SharedItem] = PerOwner(ITEM_CACHE_SIZE)


def card_item(
    library: Library,
    tr: Translator,
    bot_username: str,
    card: Card,
    today: date,
    reader_language: str | None = None,
) -> SharedItem:
    """A card as an inline result: short title and description, the whole card as message.

    ``reader_language`` is the querying user's: a result in another language says so.
    Remembered per card, languages and day: every inline query shows up to 20 of them.
    """
    return _items.get(
        library,
        (card.id, tr.language, reader_language, today, bot_username),
        lambda: _card_item(library, tr, bot_username, card, today, reader_language),
    )


def _card_item(
    library: Library,
    tr: Translator,
    bot_username: str,
    card: Card,
    today: date,
    reader_language: str | None,
) -> SharedItem:
    _ = tr.gettext
    title = card.name.get(tr.language)
    description = card_description(tr, card, today)
    if reader_language and reader_language != tr.language:
        description = f"{_(OTHER_LANGUAGE_LABELS[tr.language])} · {description}"
    return SharedItem(
        result_id=result_id("c", card.id, tr.language),
        title=shorten(title, TITLE_LIMIT),
        description=shorten(description, DESCRIPTION_LIMIT),
        text=share_text(library, tr, bot_username, card),
        link=create_deep_linked_url(bot_username, card.id),
        link_label=_("Open in the bot"),
        share_query=title,
    )


def card_description(tr: Translator, card: Card, today: date) -> str:
    """One line under the title: status and its date for people, the date for anniversaries."""
    _ = tr.gettext
    parts: list[str] = []
    if card.status:
        # Only the year fits this line; its own msgid, as Russian says «на 2015 год».
        parts.append(
            _("%(status)s (as of %(year)s)")
            % {
                "status": _(STATUS_LABELS[card.status.value]),
                "year": str(parse_partial_date(card.status.as_of)[0]),
            }
        )
    elif card.date:
        parts.append(tr.partial_date(card.date))
        upcoming = next_occurrence(card, today)
        if upcoming is not None:
            parts.append(tr.days_until((upcoming - today).days))
    parts.append(card.summary.get(tr.language))
    return " · ".join(parts)


def result_id(kind: str, subject_id: str, language: str) -> str:
    """Unique within an answer (a card may appear in both languages), at most 64 bytes."""
    value = f"{kind}.{subject_id}.{language}"
    if len(value.encode()) > MAX_RESULT_ID:
        raise ValueError(f"inline result id {value!r} is longer than 64 bytes")
    return value
