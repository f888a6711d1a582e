"""Fair shares: how much the bot does for one sender, and for one group, before it stops.

Every update a person sends costs the bot work and, mostly, a message from its one budget of
30 a second. Without a limit, one member of one group, or ten accounts, can keep the bot busy
for themselves alone. ``Admission`` keeps a token bucket per sender and per group: within
them, everything is answered; beyond them an update is dropped before any work is done, and
the sender is told once a minute to slow down (``bot.handlers.admission`` applies it).

The rates are generous for a person: a burst of presses on the settings panel, a few cards in
a row, a search typed letter by letter all fit.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Hashable
from dataclasses import dataclass

NOTICE_EVERY = 60.0
"""Seconds between two "slow down" notices to one sender."""
FORGET_AFTER = 600.0
"""Buckets idle this long are full again and can be forgotten."""


@dataclass(frozen=True)
class Rate:
    """A token bucket's shape: ``burst`` at once, then ``per_second``."""

    burst: float
    per_second: float


MAX_IN_FLIGHT = 3
"""Updates of one sender handled at once: someone who waits for each answer never reaches
it, a flood does at its fourth update, and the Application's update slots stay free for
everyone else."""
USER_RATE = Rate(burst=30, per_second=1.0)
"""Commands, button presses and messages of one person, in every chat together."""
GROUP_RATE = Rate(burst=20, per_second=1 / 3)
"""Commands to the bot in one group, from all its members (their presses count as each
member's own): Telegram lets the bot answer 20
a minute there, so more is work nobody will see."""
INLINE_RATE = Rate(burst=20, per_second=2.0)
"""Inline queries of one person: a client sends one per keystroke."""


class Verdict(enum.Enum):
    ADMIT = "admit"
    NOTICE = "notice"
    """Over the limit, and not told so for a minute: drop it and tell them once."""
    DROP = "drop"


class Buckets:
    """Token buckets by key, all of one ``Rate``."""

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._levels: dict[Hashable, tuple[float, float]] = {}
        """key -> (tokens, when counted)."""
        self._pruned = 0.0

    def take(self, key: Hashable, now: float) -> bool:
        """Spend one token of ``key``'s bucket; False if it is empty."""
        tokens, then = self._levels.get(key, (self.rate.burst, now))
        tokens = min(self.rate.burst, tokens + (now - then) * self.rate.per_second)
        allowed = tokens >= 1.0
        self._levels[key] = (tokens - 1.0 if allowed else tokens, now)
        if now - self._pruned > FORGET_AFTER:
            self._pruned = now
            self._levels = {k: v for k, v in self._levels.items() if now - v[1] < FORGET_AFTER}
        return allowed


class Admission:
    """Per-sender and per-group limits, and when each sender was last told to slow down."""

    def __init__(
        self, user: Rate = USER_RATE, group: Rate = GROUP_RATE, inline: Rate = INLINE_RATE
    ) -> None:
        self._users = Buckets(user)
        self._groups = Buckets(group)
        self._inline = Buckets(inline)
        self._noticed: dict[int, float] = {}
        self._in_flight: dict[int, int] = {}
        """Updates of each sender being handled now (``started``/``finished``)."""

    def started(self, user_id: int) -> None:
        self._in_flight[user_id] = self._in_flight.get(user_id, 0) + 1

    def finished(self, user_id: int) -> None:
        left = self._in_flight.get(user_id, 1) - 1
        if left > 0:
            self._in_flight[user_id] = left
        else:
            self._in_flight.pop(user_id, None)

    def check(
        self,
        user_id: int | None,
        group_id: int | None = None,
        *,
        inline: bool = False,
        now: float | None = None,
    ) -> Verdict:
        """Whether to handle an update from ``user_id`` (in ``group_id``, a group or None)."""
        now = time.monotonic() if now is None else now
        if user_id is None:
            return Verdict.ADMIT
        allowed = self._in_flight.get(user_id, 0) <= MAX_IN_FLIGHT and (
            self._inline if inline else self._users
        ).take(user_id, now)
        if allowed and group_id is not None:
            allowed = self._groups.take(group_id, now)
        if allowed:
            return Verdict.ADMIT
        if now - self._noticed.get(user_id, -NOTICE_EVERY) < NOTICE_EVERY:
            return Verdict.DROP
        if len(self._noticed) > 4096:
            self._noticed = {u: t for u, t in self._noticed.items() if now - t < NOTICE_EVERY}
        self._noticed[user_id] = now
        return Verdict.NOTICE
