"""One send budget for everything the bot sends, answers to people first.

Telegram allows a bot about 30 messages a second overall and 20 a minute in one group, and
with ``allow_paid_broadcast`` up to 1,000 a second, charged in Stars. ``SendBudget`` is the
bot's only rate limiter (PTB's ``BaseRateLimiter``, given to ``ApplicationBuilder``). Every
request that puts a message in a chat takes a slot of the budget; slots are spaced evenly,
and a slot counts from when it is granted until a second after its answer came back, so
Telegram's own one-second window never sees one too many, however requests bunch on the
way (``Clock``).

Two lanes share the budget. An answer to a person (a command, a button, an inline query:
anything a handler sends) is the *reply* lane and takes the next free slot, chat after chat
(``Clock``): a chat's first answer goes before the fan-out, but answers to a chat answered
moments ago leave the fan-out at least a third of the slots. An answer to a group that has
spent its 20 a minute is refused at once (``GroupBusy``) rather than awaited inside the
handler, where it would hold one of the Application's update slots for up to a minute. The
fan-out (``bot.telegram.fanout``: reminders, broadcasts, cancellation notices) marks its requests
with a ``Ticket`` or ``FANOUT`` in ``rate_limit_args``: it gets only the slots no reply is
waiting for, and never more than ``BOT_BROADCAST_RATE`` a second. With paid broadcasts the
fan-out's messages carry ``allow_paid_broadcast`` and have a clock of their own at
``BOT_BROADCAST_RATE`` (Telegram counts them apart from the free 30 a second), while replies
keep the free budget.

Retrying is decided here, once, for both lanes: a flood answer (429, ``RetryAfter``) for one
group holds only that group (unless the overall window is nearly full); any other pauses
every lane for the time Telegram asks and is retried at most ``MAX_FLOOD_WAITS`` times; a
request that provably never left (``bot.telegram.transport.never_sent``) or that Telegram answered
with a server error is retried after ``RETRY_DELAYS``. Anything else is the caller's to
handle, and a request whose answer was lost is never resent (it might have been delivered).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from bot.telegram.clocks import Clock, GroupWindow, Lane, Slot
from bot.telegram.transport import never_sent
from telegram.constants import FloodLimit
from telegram.error import NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

FREE_RATE = float(FloodLimit.MESSAGES_PER_SECOND)
"""Telegram's overall limit, messages a second (30)."""
GROUP_PER_MINUTE = int(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP)
"""Telegram's limit in one group or channel, messages a minute (20)."""
PAID_RATE = float(FloodLimit.PAID_MESSAGES_PER_SECOND)
"""The most Telegram allows with ``allow_paid_broadcast`` (1,000)."""
MAX_FLOOD_WAITS = 3
"""A request answered 429 is retried after the wait Telegram asks, at most this many times."""
RETRY_DELAYS = {"reply": (0.5, 2.0), "fanout": (1.0, 5.0, 30.0)}
"""Pauses before retrying a request that never left or met a server error, per lane: a
person waiting for an answer gets two quick tries, a reminder can wait longer."""
COUNTED_PREFIXES = ("send", "copyMessage", "forwardMessage", "editMessage")
"""Methods that put a message in a chat: these take slots. Answers to callback and inline
queries, reads such as getChatMember, and settings calls do not."""


FANOUT = Lane.FANOUT
"""``rate_limit_args`` for a fan-out request that has no ``Ticket``."""


class GroupBusy(Exception):
    """An answer to a group that has spent its messages for the minute: not sent. The error
    handler ignores it; the group asked faster than Telegram lets anyone answer."""


class Ticket:
    """A fan-out slot taken in advance (``SendBudget.reserve``), spent by the request that
    carries it in ``rate_limit_args``. The fan-out takes its slot before it starts the send,
    so messages logged "pending" never queue inside the limiter. A ticket that will not be
    spent is given back with ``SendBudget.give_back``."""

    __slots__ = ("slots", "spent")

    def __init__(self, slots: list[Slot]) -> None:
        self.slots = slots
        self.spent = False


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return _seconds(error.retry_after)


def retryable(error: Exception) -> bool:
    """Safe to send again: it never left, or Telegram answered with a server error (a
    ``NetworkError`` PTB raised from the HTTP status, with no transport failure behind it)."""
    if never_sent(error):
        return True
    # PTB raises a bare NetworkError for a 5xx status; its subclasses (BadRequest, TimedOut)
    # and errors raised from a transport failure are something else.
    return type(error) is NetworkError and error.__cause__ is None


class SendBudget(BaseRateLimiter[Any]):
    """The bot's rate limiter: one budget, replies first (see the module docstring)."""

    def __init__(
        self,
        rate: float = FREE_RATE,
        *,
        broadcast_rate: float = FREE_RATE,
        paid: bool = False,
        group_per_minute: int = GROUP_PER_MINUTE,
        retry_delays: dict[str, tuple[float, ...]] | None = None,
    ) -> None:
        self.rate = rate
        self.paid = paid
        self.fanout_rate = min(broadcast_rate, PAID_RATE if paid else rate)
        """Fan-out messages a second at most: ``BOT_BROADCAST_RATE``, within the budget."""
        self.retry_delays = retry_delays
        """None: the module's ``RETRY_DELAYS``."""
        self._overall = Clock(rate)
        self._fanout = Clock(self.fanout_rate)
        """The fan-out's own cap; without paid broadcasts it also takes an overall slot."""
        self._groups = GroupWindow(group_per_minute)
        self.flood_waits = 0
        """429 answers met so far (for the benchmarks' and operators' eyes)."""

    @property
    def pace(self) -> float:
        """Slots a second the free budget hands out now (less than ``rate`` after 429s)."""
        return 1.0 / self._overall.interval

    @classmethod
    def from_config(cls, config: Any) -> SendBudget:
        return cls(
            config.send_rate, broadcast_rate=config.broadcast_rate, paid=config.paid_broadcast
        )

    async def initialize(self) -> None:
        """Nothing to open: the clocks start on first use."""

    async def shutdown(self) -> None:
        for clock in (self._overall, self._fanout):
            clock.close()

    async def reserve(self) -> Ticket:
        """Wait for the fan-out's next slot; the request that carries the ticket is sent
        without waiting again."""
        return Ticket(await self._fanout_slots(paid=self.paid))

    def give_back(self, ticket: Ticket) -> None:
        """A ticket that will not be spent: its slots count as a request that never left."""
        if not ticket.spent:
            ticket.spent = True
            self._release(ticket.slots, sent=False)

    @property
    def in_flight(self) -> int:
        """Slots handed out and not given back (zero when nothing is being sent)."""
        return self._overall.in_flight + self._fanout.in_flight

    @staticmethod
    def _release(slots: list[Slot], *, sent: bool = True) -> None:
        for slot in slots:
            slot.clock.release(slot, sent=sent)

    async def _fanout_slots(self, *, paid: bool) -> list[Slot]:
        slots = [await self._fanout.slot(Lane.FANOUT)]
        if not paid:
            try:
                slots.append(await self._overall.slot(Lane.FANOUT))
            except BaseException:
                self._release(slots, sent=False)
                raise
        return slots

    async def _slots(self, lane: Lane, paid: bool, chat: Any) -> list[Slot]:
        if lane is Lane.FANOUT:
            return await self._fanout_slots(paid=paid)
        return [await self._overall.slot(Lane.REPLY, chat)]

    def _hold(self, seconds: float, *, paid: bool) -> None:
        for clock in (self._overall, self._fanout):
            clock.hold(seconds)
        (self._fanout if paid else self._overall).slow_down()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict | list[dict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> bool | dict | list[dict]:
        ticket = rate_limit_args if isinstance(rate_limit_args, Ticket) else None
        lane = Lane.FANOUT if ticket is not None or rate_limit_args is FANOUT else Lane.REPLY
        paid = bool(data.get("allow_paid_broadcast"))
        chat_id = data.get("chat_id")
        counted = chat_id is not None and endpoint.startswith(COUNTED_PREFIXES)
        group = (
            chat_id
            if chat_id is not None and counted and (isinstance(chat_id, str) or int(chat_id) < 0)
            else None
        )
        delays = (self.retry_delays or RETRY_DELAYS)[lane.value]
        flood_waits = retries = 0
        while True:
            slots: list[Slot] = []
            if counted:
                if lane is Lane.REPLY and group is not None and self._groups.full(group):
                    raise GroupBusy()
                waited = group is not None and await self._groups.wait(group)
                if ticket is not None and not ticket.spent and not waited:
                    ticket.spent = True  # its slot was taken just before this request
                    slots = ticket.slots
                else:
                    if ticket is not None:
                        self.give_back(ticket)  # its slot went by while the group waited
                    slots = await self._slots(lane, paid, chat_id)
            try:
                try:
                    return await callback(*args, **kwargs)
                finally:
                    self._release(slots)
            except RetryAfter as error:
                self.flood_waits += 1
                flood_waits += 1
                if flood_waits > MAX_FLOOD_WAITS:
                    log.warning(
                        "%s: still flood-limited after %d waits", endpoint, MAX_FLOOD_WAITS
                    )
                    raise
                pause = retry_after_seconds(error) + 0.1
                if group is not None and self._overall.in_flight < self._overall.limit - 1:
                    # The group's own limit, not the bot's: only that group waits (an
                    # answer to it is then dropped, a fan-out message waits its turn).
                    log.info("Telegram asked for a %.1f s pause in one group", pause)
                    self._groups.hold(group, pause)
                    continue
                log.info("Telegram asked for a %.1f s pause; every lane waits", pause)
                self._hold(pause, paid=paid)
                if not counted:
                    await asyncio.sleep(pause)
            except NetworkError as error:
                if not retryable(error) or retries >= len(delays):
                    raise
                await asyncio.sleep(delays[retries])
                retries += 1
