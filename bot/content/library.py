"""The cards the bot serves, read back from the TinyDB content store, with the lookups
handlers need: by id, by tolerant name, by date, and the anniversary calendar."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date

from bot.content.schema import Card, Content, ProtestEvent, Source, observed_day
from bot.content.search import Match, normalise, rank
from bot.memo import Memo

PEOPLE_KINDS = ("prisoner", "memorial", "wounded")
FIND_CACHE_SIZE = 1024
"""Searches remembered: when a card goes viral, thousands of people type the same names."""

_DAY_MONTH_RE = re.compile(r"^\s*(\d{1,2})[./\s-](\d{1,2})(?:[./\s-](\d{2,4}))?\s*$")
_MONTHS = {
    # English, Russian and Kazakh month stems, so "16 dec", "16 декабря", "December 16" and
    # "желтоқсан 16" all work. Not October's "қаз": "Қазақстан 16" is no date. (Helper #21's
    # search builds every language's month names from Babel and replaces this table.)
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
    "янв": 1,
    "фев": 2,
    "мар": 3,
    "апр": 4,
    "мая": 5,
    "май": 5,
    "июн": 6,
    "июл": 7,
    "авг": 8,
    "сен": 9,
    "окт": 10,
    "ноя": 11,
    "дек": 12,
    "қаң": 1,
    "ақп": 2,
    "нау": 3,
    "сәу": 4,
    "мам": 5,
    "мау": 6,
    "шіл": 7,
    "там": 8,
    "қыр": 9,
    "қар": 11,
    "жел": 12,
}


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


class Library:
    """Read-only view of the content, built once at start from the store's content tables."""

    def __init__(
        self, cards: list[Card], sources: list[Source], events: list[ProtestEvent] | None = None
    ) -> None:
        self.cards = {card.id: card for card in cards}
        self.sources = {source.id: source for source in sources}
        self.content_events = {event.id: event for event in events or []}
        self._names = {card.id: [*card.name.texts.values(), *card.aliases] for card in cards}
        self._found: Memo[list] = Memo(FIND_CACHE_SIZE)  # find() and suggest() results
        self._calendars: Memo[list[Occurrence]] = Memo(1)
        """Only today's (or a test's) date is ever asked again."""

    @classmethod
    def from_documents(cls, documents: dict[str, list[dict]]) -> Library:
        return cls(
            [Card.model_validate(doc) for doc in documents.get("cards", [])],
            [Source.model_validate(doc) for doc in documents.get("sources", [])],
            [ProtestEvent.model_validate(doc) for doc in documents.get("events", [])],
        )

    def get(self, card_id: str) -> Card | None:
        return self.cards.get(card_id)

    def people(self, kinds: tuple[str, ...] = PEOPLE_KINDS) -> list[Card]:
        return sorted(
            (c for c in self.cards.values() if c.kind in kinds),
            key=lambda card: _surname_key(card.name.en),
        )

    def anniversaries(self) -> list[Card]:
        return [c for c in self.cards.values() if c.kind == "anniversary"]

    def find(
        self, query: str, kinds: tuple[str, ...] | None = None, limit: int = 10
    ) -> list[Match]:
        """Cards whose names match the query, best first, across scripts and spellings."""
        return list(self._found.get((query, kinds, limit),
                                    lambda: self._find(query, kinds, limit)))

    def _find(self, query: str, kinds: tuple[str, ...] | None, limit: int) -> list[Match]:
        names = {
            key: value
            for key, value in self._names.items()
            if kinds is None or self.cards[key].kind in kinds
        }
        matches = rank(query, names, limit=limit)
        if not matches:
            return []
        best = matches[0].score
        # Keep only matches near the best one, so "Tuletaeva" does not also list weak guesses.
        return [match for match in matches if match.score >= min(best, 0.9) - 0.05]

    def lookup(self, query: str, kinds: tuple[str, ...] | None = None) -> list[Card]:
        """The cards a typed query names, best first; one card when one is the answer.

        A query equal to a card's name or alias (in any script or spelling: names are
        compared as skeletons) is that card, whatever else starts with the same word; a
        choice is left only between cards that match equally well. A date opens the one
        commemoration on it, if there is one (16.12: the massacre, not Independence Day).
        """
        matches = self.find(query, kinds)
        exact = [self.cards[m.key] for m in matches if m.score >= 1.0]
        if exact:
            return exact
        found = [self.cards[m.key] for m in matches]
        if found or kinds not in (None, ("anniversary",)):
            return found
        on_date = self.by_date_query(query)
        commemorations = [card for card in on_date if card.commemorated]
        return commemorations if len(commemorations) == 1 else on_date

    def suggest(self, query: str, kinds: tuple[str, ...] | None = None) -> list[Card]:
        """Loose guesses for "did you mean", when find() found nothing."""
        return list(self._found.get(("suggest", query, kinds),
                                    lambda: self._suggest(query, kinds)))

    def _suggest(self, query: str, kinds: tuple[str, ...] | None) -> list[Card]:
        wanted = normalise(query)
        pool = [c for c in self.cards.values() if kinds is None or c.kind in kinds]
        keyed = {
            normalise(name): card
            for card in pool
            for name in (*card.name.texts.values(), *card.aliases)
        }
        close = difflib.get_close_matches(wanted, list(keyed), n=6, cutoff=0.5)
        seen: dict[str, Card] = {}
        for key in close:
            seen.setdefault(keyed[key].id, keyed[key])
        return list(seen.values())[:3]

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

    def by_date_query(self, query: str) -> list[Card]:
        """Anniversaries on a date typed as 16.12, 16/12/2011, 16 dec or 16 декабря."""
        parsed = parse_day_month(query)
        if parsed is None:
            return []
        month, day, year = parsed
        cards = self.on_day(month, day)
        if year is not None:
            cards = [card for card in cards if card.year == year] or cards
        return cards


def parse_day_month(text: str) -> tuple[int, int, int | None] | None:
    """(month, day, year or None) from a loosely typed date, or None if it is not one."""
    match = _DAY_MONTH_RE.match(text)
    if match:
        day, month = int(match.group(1)), int(match.group(2))
        year = match.group(3)
        year_value = int(year) + (2000 if year and len(year) == 2 else 0) if year else None
    else:
        words = re.findall(r"\d+|[^\W\d]+", text.casefold())
        numbers = [int(word) for word in words if word.isdecimal()]
        months = [_MONTHS[word[:3]] for word in words if word[:3] in _MONTHS]
        if not months or not numbers or len(words) > 4:
            return None
        month = months[0]
        found_day = next((n for n in numbers if 1 <= n <= 31), None)
        if found_day is None:
            return None
        day = found_day
        year_value = next((n for n in numbers if n > 31), None)
    try:
        date(2000, month, day)  # a leap year, so 29 February is a valid anniversary
    except ValueError:
        return None
    return month, day, year_value


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
