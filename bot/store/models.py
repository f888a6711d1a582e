"""What the bot knows about a chat: its settings, checked, and their compact stored form.

Kept apart from the repository (``bot.store.repository``) so the schedule, the handlers and the
calendar files can speak of a chat's settings without the storage engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

CHAT_TYPES = frozenset({"private", "group", "supergroup", "channel"})
TOPICS = frozenset({"all", "dec16"})
DEFAULT_LEADS = (7, 1, 0)
MAX_FOLLOWS = 100
"""Cards one chat may follow: every person card, with room to spare."""


@dataclass(slots=True)
class ChatSettings:
    chat_id: int
    chat_type: str = "private"  # private | group | supergroup | channel
    language: str | None = None  # "en"/"ru"/"kk" once chosen; None = follow Telegram's
    timezone: str = "UTC"
    hour: int = 10  # local delivery hour
    subscribed: bool = False
    topics: str = "all"  # "all" anniversaries | "dec16" only
    cities: list[str] = field(default_factory=list)  # ["*"] = all cities
    leads: list[int] = field(default_factory=lambda: list(DEFAULT_LEADS))  # days before
    follows: list[str] = field(default_factory=list)
    """Ids of the cards whose news this chat hears of (``bot.reminders.news``): card ids
    only, nothing about why."""


SETTINGS_FIELDS = tuple(f.name for f in fields(ChatSettings))


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_short_text(value: Any, limit: int = 64) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def settings_problem(s: ChatSettings) -> str | None:
    """Why these settings must not be stored, or None (a bad value is a bug upstream)."""
    checks = (
        (is_int(s.chat_id), "chat_id must be an int"),
        (s.chat_type in CHAT_TYPES, f"unknown chat_type {s.chat_type!r}"),
        (s.language is None or is_short_text(s.language, 16), f"bad language {s.language!r}"),
        (is_short_text(s.timezone), f"bad timezone {s.timezone!r}"),
        (is_int(s.hour) and 0 <= s.hour <= 23, f"hour must be 0-23, got {s.hour!r}"),
        (isinstance(s.subscribed, bool), "subscribed must be a bool"),
        (s.topics in TOPICS, f"unknown topics {s.topics!r}"),
        (
            isinstance(s.cities, list)
            and len(s.cities) <= 200
            and all(is_short_text(c) and "|" not in c for c in s.cities),
            "cities must be a list of names (without '|')",
        ),
        (
            isinstance(s.leads, list)
            and len(s.leads) <= 20
            and all(is_int(d) and 0 <= d <= 366 for d in s.leads),
            "leads must be a list of days (0-366)",
        ),
        (
            isinstance(s.follows, list)
            and len(s.follows) <= MAX_FOLLOWS
            and len(set(s.follows)) == len(s.follows)
            and all(is_short_text(c) and "|" not in c for c in s.follows),
            "follows must be a list of distinct card ids (without '|')",
        ),
    )
    return next((message for ok, message in checks if not ok), None)


def encode_settings(s: ChatSettings) -> dict[str, Any]:
    """Compact document: one-letter keys, defaults left out, lists joined into strings.

    A dict holding only strings and ints is ignored by Python's cycle collector, which would
    otherwise rescan all 100,000 documents on every full collection.
    """
    problem = settings_problem(s)
    if problem:
        raise ValueError(problem)  # no chat id: exception text reaches the log
    doc: dict[str, Any] = {}
    if s.chat_type != "private":
        doc["t"] = s.chat_type
    if s.language is not None:
        doc["l"] = s.language
    if s.timezone != "UTC":
        doc["z"] = s.timezone
    if s.hour != 10:
        doc["h"] = s.hour
    if s.subscribed:
        doc["s"] = 1
    if s.topics != "all":
        doc["o"] = s.topics
    if s.cities:
        doc["c"] = "|".join(s.cities)
    if tuple(s.leads) != DEFAULT_LEADS:
        doc["d"] = ",".join(map(str, s.leads))
    if s.follows:
        doc["f"] = "|".join(s.follows)
    return doc


def decode_settings(chat_id: int, doc: Mapping[str, Any]) -> ChatSettings:
    cities, leads, follows = doc.get("c"), doc.get("d"), doc.get("f")
    return ChatSettings(
        chat_id,
        doc.get("t", "private"),
        doc.get("l"),
        doc.get("z", "UTC"),
        doc.get("h", 10),
        bool(doc.get("s")),
        doc.get("o", "all"),
        cities.split("|") if cities else [],
        [int(day) for day in leads.split(",") if day]
        if leads is not None
        else list(DEFAULT_LEADS),
        follows.split("|") if follows else [],
    )
