"""News in a case: which of the editors' updates (``Card.updates``) followers are still to be
told of. Pure, like ``bot.reminders.schedule``, which puts them into a chat's day.

An update is news from the moment the bot first has it (its first start with content that
holds it, recorded in the store's meta so a restart does not make it new again). A follower
hears of it once, in the message of the first day the chat's reminder hour comes after that,
logged under the update's own key ``u:<card>:<date>`` as well as the day's, so that no
restart, no change of hour or time zone and no later day tells it twice. An update dated
long before the bot first saw it is an editor filling in history: the card shows it, nobody
is pushed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.content.schema import Card

KIND = "update"
"""``Reminder.kind`` of a news item."""
PREFIX = "u:"
SEEN = "news.seen"
"""Meta key: update key -> when the bot first had that update (ISO instant, UTC)."""
NOT_NEWS_AFTER = timedelta(days=30)
"""An update dated more than this before the bot first saw it is shown, not pushed."""
TOLD_WITHIN = timedelta(days=7)
"""How long after the bot first had an update a follower not yet reached is still told
(the bot down for days, say). Well inside the 60 days the delivery log is kept, so an
update's rows are never pruned while it could still be sent."""


@dataclass(frozen=True, slots=True)
class News:
    """One update that followers of its card may still be owed."""

    key: str
    card_id: str
    day: date
    """The update's date."""
    seen: datetime
    """When the bot first had it (aware, UTC)."""


def news_key(card_id: str, day: str) -> str:
    return f"{PREFIX}{card_id}:{day}"


def update_keys(cards: Iterable[Card]) -> dict[str, tuple[Card, str]]:
    """Every update in the content by its key, with its card and date."""
    return {
        news_key(card.id, update.date): (card, update.date)
        for card in cards
        for update in card.updates
    }


def newly_seen(cards: Iterable[Card], seen: Mapping[str, str], now: datetime) -> dict[str, str]:
    """The updates the bot has not had before, stamped ``now``: what to add to ``SEEN``."""
    return {key: now.isoformat() for key in update_keys(cards) if key not in seen}


def owed_news(cards: Iterable[Card], seen: Mapping[str, str], now: datetime) -> list[News]:
    """The updates followers may still be told of at ``now``: seen recently, and news when
    they were seen."""
    found = []
    for key, (card, day) in update_keys(cards).items():
        when = seen.get(key)
        if when is None:
            continue
        first = datetime.fromisoformat(when)
        dated = date.fromisoformat(day)
        if first.date() - dated > NOT_NEWS_AFTER or now - first >= TOLD_WITHIN:
            continue
        found.append(News(key, card.id, dated, first))
    return found
