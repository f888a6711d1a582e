"""What a protest is, without Telegram or storage: when it starts, who follows it, which
are coming, and reading what an organiser types into one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from bot.content.schema import SLUG_RE, ProtestEvent, Text
from bot.store.models import ChatSettings
from bot.zones import KNOWN_CITIES, zone

NEARBY_WINDOW = timedelta(days=30)
"""Protests this close after a reminder are mentioned in it."""

MAX_FIELD = 200

DATE_FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M")

VERSIONS = "protests.versions"
"""Meta key: each protest's details as last seen and its sequence number (``versioned``)."""

TOLD_SINCE = "protests.told_since"
"""Meta key: when the bot began keeping told marks (older messages are judged by the log)."""


def details(event: ProtestEvent) -> dict:
    """What subscribers are told of a protest: a change to any of it is a change notice."""
    return event.model_dump(mode="json", exclude={"cancelled", "sequence"})


def versioned(
    events: Iterable[ProtestEvent], versions: dict[str, dict]
) -> tuple[dict[str, dict], list[tuple[ProtestEvent, ProtestEvent]]]:
    """The versions map after seeing ``events``, and each (old, new) whose details changed.

    A protest's entry holds its details as last seen (``d``), whether it was cancelled
    (``c``) and its sequence (``s``), raised by every change or cancellation so calendar
    apps move the entry instead of adding a second one (RFC 5545, SEQUENCE).
    """
    updated = dict(versions)
    changed = []
    for event in events:
        now = {"d": details(event), "c": event.cancelled}
        seen = versions.get(event.id)
        if seen is None:
            updated[event.id] = {**now, "s": 0}
        elif (seen["d"], seen["c"]) != (now["d"], now["c"]):
            updated[event.id] = {**now, "s": seen["s"] + 1}
            if seen["d"] != now["d"] and not event.cancelled:
                old = ProtestEvent.model_validate({**seen["d"], "sequence": seen["s"]})
                changed.append((old, event.model_copy(update={"sequence": seen["s"] + 1})))
    return updated, changed


def upcoming(
    events: Iterable[ProtestEvent], now: datetime, chat: ChatSettings | None = None
) -> list[ProtestEvent]:
    """Protests not yet started and not cancelled; the chat's own cities first."""

    def order(event: ProtestEvent) -> tuple[bool, datetime]:
        return (not (chat and wants_event(chat, event)), event_start(event))

    return sorted(live_events(events, now), key=order)


def nearby(
    events: Iterable[ProtestEvent],
    chat: ChatSettings,
    after: datetime,
    within: timedelta = NEARBY_WINDOW,
) -> list[ProtestEvent]:
    """Protests in the chat's cities in the weeks after ``after`` (for anniversary reminders)."""
    return sorted(
        (
            e
            for e in live_events(events, after)
            if wants_event(chat, e) and event_start(e) <= after + within
        ),
        key=event_start,
    )


def known_cities(events: Iterable[ProtestEvent]) -> dict[str, Text]:
    return {city_key(e.city.en): e.city for e in events}


def new_event_id(city_en: str, starts_at: datetime, taken: Iterable[str]) -> str:
    """A readable slug such as ``almaty-2026-12-16``, made unique with a suffix."""
    base = (city_key(city_en)[:30] or "protest") + starts_at.strftime("-%Y-%m-%d")
    taken = set(taken)
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base}-{number}"
        number += 1
    if not re.match(SLUG_RE, candidate):
        raise ValueError(f"cannot make an event id from {city_en!r}")
    return candidate


def bilingual(text: str, limit: int = MAX_FIELD) -> dict[str, str] | None:
    english, _, russian = text.partition("/")
    english, russian = english.strip(), (russian.strip() or english.strip())
    if not english or len(english) > limit or len(russian) > limit:
        return None
    return {"en": english, "ru": russian}


def parse_city(text: str, known: Iterable[ProtestEvent]) -> dict[str, str] | None:
    """A city with an ASCII English name (it becomes the key subscribers choose); a city the
    bot knows may be typed in one language."""
    typed = text.strip()
    for key, (_zone, english, russian) in KNOWN_CITIES.items():
        if city_key(typed) == key or typed.casefold() == russian.casefold():
            return {"en": english, "ru": russian}
    for city_name in known_cities(known).values():
        if typed.casefold() in (city_name.en.casefold(), city_name.ru.casefold()):
            return city_name.model_dump()
    city = bilingual(typed, 60)
    return city if city and city_key(city["en"]) and city["en"].isascii() else None


def parse_starts(text: str) -> datetime | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def city_key(name: str) -> str:
    """Stable ASCII key for a city ("New York" -> "new-york"): settings and buttons use it."""
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:32]


def event_start(event: ProtestEvent) -> datetime:
    """The protest's start as an aware UTC instant (the file gives local wall-clock time)."""
    return event.starts_at.replace(tzinfo=zone(event.timezone)).astimezone(UTC)


def wants_event(chat: ChatSettings, event: ProtestEvent) -> bool:
    return not event.cancelled and ("*" in chat.cities or city_key(event.city.en) in chat.cities)


def live_events(events: Iterable[ProtestEvent], after: datetime) -> list[ProtestEvent]:
    """Protests that can still be reminded of: not cancelled, starting after ``after``."""
    return [event for event in events if not event.cancelled and event_start(event) > after]
