"""The cards the bot serves, read back from the TinyDB content store, with the lookups
handlers need: by id, by tolerant name, by date, and the anniversary calendar."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import orjson

from bot.content.folding import normalise
from bot.content.schema import Card, Content, ProtestEvent, Source, observed_day
from bot.content.search import LazyIndex, Match, SearchResult
from bot.memo import Memo

PEOPLE_KINDS = ("prisoner", "memorial", "wounded")
FIND_CACHE_SIZE = 1024
"""Searches remembered: when a card goes viral, thousands of people type the same names."""
PARSED_KEPT = 4
"""Content versions whose parsed cards and search index are kept for the next Library made
from the same documents: the bot makes one, the test suite one per Application started."""


@dataclass(frozen=True, slots=True)
class Occurrence:
    """An anniversary card's next (or this year's) date and how far away it is."""

    card: Card
    day: date
    days_away: int
    years_since: int


def content_documents(content: Content) -> dict[str, list[dict]]:
    """Content as TinyDB documents, table by table."""
    return {
        "cards": [card.model_dump(mode="json") for card in content.cards.values()],
        "sources": [source.model_dump(mode="json") for source in content.sources.values()],
        "events": [event.model_dump(mode="json") for event in content.events.values()],
    }


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What a Library is made of, all immutable, so Libraries of the same documents share it
    (each keeps its own memo tables)."""

    cards: tuple[Card, ...]
    sources: tuple[Source, ...]
    events: tuple[ProtestEvent, ...]
    index: LazyIndex


_parsed: dict[bytes, _Parsed] = {}


class Library:
    """Read-only view of the content, built once at start from the store's content tables."""

    def __init__(
        self,
        cards: list[Card],
        sources: list[Source],
        events: list[ProtestEvent] | None = None,
        *,
        index: LazyIndex | None = None,
    ) -> None:
        self.cards = {card.id: card for card in cards}
        self.sources = {source.id: source for source in sources}
        self.content_events = {event.id: event for event in events or []}
        self._index = index if index is not None else LazyIndex(cards)
        self._found: Memo[SearchResult] = Memo(FIND_CACHE_SIZE)
        self._calendars: Memo[list[Occurrence]] = Memo(1)
        """Only today's (or a test's) date is ever asked again."""

    @classmethod
    def from_documents(cls, documents: dict[str, list[dict]]) -> Library:
        """The Library of these documents; the same documents again (another Application in
        the same process) reuse the parsed cards and the search index."""
        key = hashlib.sha256(orjson.dumps(documents, option=orjson.OPT_SORT_KEYS)).digest()
        parsed = _parsed.pop(key, None)
        if parsed is None:
            cards = tuple(Card.model_validate(doc) for doc in documents.get("cards", []))
            parsed = _Parsed(
                cards,
                tuple(Source.model_validate(doc) for doc in documents.get("sources", [])),
                tuple(ProtestEvent.model_validate(doc) for doc in documents.get("events", [])),
                LazyIndex(cards),
            )
        _parsed[key] = parsed  # the most recent last
        while len(_parsed) > PARSED_KEPT:
            del _parsed[next(iter(_parsed))]
        return cls(
            list(parsed.cards), list(parsed.sources), list(parsed.events), index=parsed.index
        )

    def warm(self) -> None:
        """Build the search index now (it is otherwise built by the first search)."""
        self._index.get()

    def get(self, card_id: str) -> Card | None:
        return self.cards.get(card_id)

    def people(self, kinds: tuple[str, ...] = PEOPLE_KINDS) -> list[Card]:
        return sorted(
            (c for c in self.cards.values() if c.kind in kinds),
            key=lambda card: _surname_key(card.name.en),
        )

    def anniversaries(self) -> list[Card]:
        return [c for c in self.cards.values() if c.kind == "anniversary"]

    def search(self, query: str, kinds: tuple[str, ...] | None = None) -> SearchResult:
        """The one search every entry point uses (``bot.content.search``), remembered."""
        return self._found.get((query, kinds), lambda: self._index.search(query, kinds))

    def find(self, query: str, kinds: tuple[str, ...] | None = None) -> list[Match]:
        """Cards a query finds, best first, with their scores."""
        result = self.search(query, kinds)
        return list(result.scores) or [Match(card.id, 1.0) for card in result.cards]

    def lookup(self, query: str, kinds: tuple[str, ...] | None = None) -> list[Card]:
        """One card when it is the answer, else the choice (empty: nothing found)."""
        result = self.search(query, kinds)
        return list(result.cards[:1] if result.opens else result.cards)

    def calendar(self, today: date) -> list[Occurrence]:
        """Every dated anniversary, the next upcoming first (today counts as upcoming)."""
        return list(self._calendars.get(today, lambda: self._calendar(today)))

    def _calendar(self, today: date) -> list[Occurrence]:
        occurrences = []
        for card in self.anniversaries():
            day = next_occurrence(card, today)
            if day is None or card.year is None:
                continue
            occurrences.append(Occurrence(card, day, (day - today).days, day.year - card.year))
        return sorted(occurrences, key=lambda occ: (occ.day, occ.card.year or 0, occ.card.id))

    def on_day(self, month: int, day: int) -> list[Card]:
        return sorted(
            (card for card in self.anniversaries() if card.anniversary_day == (month, day)),
            key=lambda card: card.year or 0,
        )


def next_occurrence(card: Card, today: date) -> date | None:
    """The card's date this year if still ahead (or today), else next year.

    A 29 February anniversary is marked on 28 February in common years.
    """
    month_day = card.anniversary_day
    if month_day is None:
        return None
    this_year = observed_day(today.year, *month_day)
    return this_year if this_year >= today else observed_day(today.year + 1, *month_day)


def _surname_key(name: str) -> str:
    parts = name.split()
    return normalise(parts[-1] if parts else name)
