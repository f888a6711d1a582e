"""A chat's own clock: its time zone, the hour it hears at, and the quiet hours.

Pure functions of a zone name and an instant (tzdata through ``zoneinfo``), so daylight
saving and skipped or repeated wall-clock hours are tested with plain datetimes.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

log = logging.getLogger(__name__)

QUIET_FROM, QUIET_UNTIL = 22, 8
"""No messages between 22:00 and 08:00 in the chat's own time zone."""
DELIVERY_HOURS = tuple(range(QUIET_UNTIL, QUIET_FROM))


@cache
def _zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def canonical_zone(text: str) -> str | None:
    """The IANA name the user meant ("europe/berlin" -> "Europe/Berlin"), or None."""
    cleaned = text.strip().replace(" ", "_")
    if not cleaned or len(cleaned) > 64:
        return None
    return _zone_names().get(cleaned.casefold())


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The chat's zone; a name that no longer exists in tzdata falls back to UTC.

    Cached: ZoneInfo keeps only a few zones strongly, and re-reading tzdata for each of
    100,000 subscribers was half the cost of a sweep.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        # OSError: a directory of tzdata such as "Europe"; TypeError: not a string at all.
        log.warning("unknown time zone %r, using UTC", str(name)[:64])
        return ZoneInfo("UTC")


def delivery_hour(hour: int) -> int:
    """The hour actually used: never inside quiet hours, whatever is stored."""
    return min(max(hour, QUIET_UNTIL), QUIET_FROM - 1)


def local_time(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """``hour``:00 on ``day`` in ``tz``, as UTC.

    zoneinfo resolves a wall-clock time skipped by a spring-forward change with the offset
    before the change (so it lands an hour later on the clock), and a repeated one as its
    first occurrence: either way exactly one instant, never none and never two.
    """
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def in_quiet_hours(moment: datetime, tz: ZoneInfo) -> bool:
    hour = moment.astimezone(tz).hour
    return hour >= QUIET_FROM or hour < QUIET_UNTIL


def quiet_hours_end(moment: datetime, tz: ZoneInfo) -> datetime:
    """The next 08:00 local after ``moment`` (which is inside quiet hours)."""
    local = moment.astimezone(tz)
    day = local.date() if local.hour < QUIET_UNTIL else local.date() + timedelta(days=1)
    return local_time(day, QUIET_UNTIL, tz)


KNOWN_CITIES = {
    # key: (IANA zone, English, Russian): the time zone buttons; the key is the city key.
    "london": ("Europe/London", "London", "Лондон"),
    "paris": ("Europe/Paris", "Paris", "Париж"),
    "brussels": ("Europe/Brussels", "Brussels", "Брюссель"),
    "berlin": ("Europe/Berlin", "Berlin", "Берлин"),
    "kyiv": ("Europe/Kyiv", "Kyiv", "Киев"),
    "moscow": ("Europe/Moscow", "Moscow", "Москва"),
    "almaty": ("Asia/Almaty", "Almaty", "Алматы"),
    "astana": ("Asia/Almaty", "Astana", "Астана"),
    "aktau": ("Asia/Aqtau", "Aktau", "Актау"),
    "new-york": ("America/New_York", "New York", "Нью-Йорк"),
}

CITY_NAMES = {
    # The same cities in the bot's further languages (any city missing here: in Russian).
    "kk": {
        "london": "Лондон",
        "paris": "Париж",
        "brussels": "Брюссель",
        "berlin": "Берлин",
        "kyiv": "Киев",
        "moscow": "Мәскеу",
        "almaty": "Алматы",
        "astana": "Астана",
        "aktau": "Ақтау",
        "new-york": "Нью-Йорк",
    },
}
