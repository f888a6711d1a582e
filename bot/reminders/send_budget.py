"""One send budget for everything the bot sends, answers to people first.

Telegram allows a bot about 30 messages a second overall and 20 a minute in one group, and
with ``allow_paid_broadcast`` up to 1,000 a second, charged in Stars. ``SendBudget`` is the
bot's only rate limiter (PTB's ``BaseRateLimiter``, given to ``ApplicationBuilder``). Every
request that puts a message in a chat takes a slot of the budget; slots are spaced evenly,
and a slot counts from when it is granted until a second after its answer came back, so
Telegram's own one-second window never sees one too many, however requests bunch on the
way (``Clock``).

Two lanes share the budget. An answer to a person (a command, a button, an inline query:
anything a handler sends) is the *reply* lane and always takes the next free slot. The
fan-out (``bot.reminders.fanout``: reminders, broadcasts, cancellation notices) marks its requests
with a ``Ticket`` or ``FANOUT`` in ``rate_limit_args``: it gets only the slots no reply is
waiting for, and never more than ``BOT_BROADCAST_RATE`` a second. With paid broadcasts the
fan-out's messages carry ``allow_paid_broadcast`` and have a clock of their own at
``BOT_BROADCAST_RATE`` (Telegram counts them apart from the free 30 a second), while replies
keep the free budget.

Retrying is decided here, once, for both lanes: a flood answer (429, ``RetryAfter``) pauses
every lane for the time Telegram asks and is retried at most ``MAX_FLOOD_WAITS`` times; a
request that provably never left (``bot.transport.never_sent``) or that Telegram answered
with a server error is retried after ``RETRY_DELAYS``. Anything else is the caller's to
handle, and a request whose answer was lost is never resent (it might have been delivered).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.constants import FloodLimit
from telegram.error import NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.transport import never_sent

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


class Lane(enum.Enum):
    REPLY = "reply"
    FANOUT = "fanout"


FANOUT = Lane.FANOUT
"""``rate_limit_args`` for a fan-out request that has no ``Ticket``."""


class Ticket:
    """A fan-out slot taken in advance (``SendBudget.reserve``), spent by the request that
    carries it in ``rate_limit_args``. The fan-out takes its slot before it picks the next
    message, so messages logged "pending" never queue inside the limiter. A ticket that will
    not be spent is given back with ``SendBudget.give_back``."""

    __slots__ = ("slots", "spent")

    def __init__(self, slots: list[Slot]) -> None:
        self.slots = slots
        self.spent = False


class Slot:
    """One slot a clock handed out: it counts in the clock's window from the moment it is
    granted until a second after its request's answer came back (``Clock.release``)."""

    __slots__ = ("clock", "granted")

    def __init__(self, clock: Clock, granted: float) -> None:
        self.clock = clock
        self.granted = granted


class Clock:
    """Hands out slots at most ``rate`` a second, in a one-second window that Telegram's own
    count can never exceed; waiting replies are served before waiting fan-out requests.

    Telegram counts a message when it arrives, some time between the moment we hand out its
    slot and the moment its answer comes back, and the network or a busy machine delays some
    requests more than others. So a slot counts from when it is granted until one second
    after its answer (``release``): then no one-second window of arrivals can hold more than
    ``rate`` messages, however they bunch on the way. Slots are also spaced ``1/rate`` apart so
    the budget is spread over the second rather than spent at its start. After a 429 (from a
    Telegram that counts differently) the spacing widens by ``SLOW_DOWN``, to at most
    ``SLOWEST`` of the rate, and creeps back over the quiet minutes that follow.
    """

    SLOW_DOWN = 1.03
    SLOWEST = 0.85
    RECOVER_EVERY = 20.0
    """Seconds without a 429 after which the clock speeds up one step again."""
    FORGET_AFTER = 120.0
    """A slot neither spent nor given back after this long (a bug, or a request stuck beyond
    every timeout) stops counting, so a leak can never stall the bot."""

    def __init__(self, rate: float) -> None:
        self.base_interval = self.interval = 1.0 / rate
        self.limit = max(1, math.floor(rate))
        """Slots in any one second: granted and unanswered, or answered less than 1 s ago."""
        self._slowed_at = 0.0
        self.next_slot = 0.0
        self.held_until = 0.0
        self._open: dict[Slot, None] = {}
        """Slots granted whose request has not been answered yet, oldest first."""
        self._answered: deque[float] = deque()
        """When each request of the last second was answered."""
        self._released = asyncio.Event()
        self._waiting: dict[Lane, deque[asyncio.Future[Slot]]] = {
            Lane.REPLY: deque(), Lane.FANOUT: deque()}
        self._ticker: asyncio.Task | None = None

    @property
    def in_flight(self) -> int:
        """Slots granted and not yet given back."""
        return len(self._open)

    def _take(self, now: float) -> Slot:
        if self.interval > self.base_interval and now - self._slowed_at > self.RECOVER_EVERY:
            self.interval = max(self.base_interval, self.interval / self.SLOW_DOWN)
            self._slowed_at = now
        # A clock woken late by a busy event loop may catch up one slot: the window, not the
        # spacing, is what keeps Telegram's count under the limit.
        self.next_slot = max(now - self.interval, self.next_slot) + self.interval
        slot = Slot(self, now)
        self._open[slot] = None
        return slot

    def release(self, slot: Slot, *, sent: bool = True) -> None:
        """The slot's request was answered: it counts one more second. A slot whose request
        was never made (``sent=False``) stops counting at once."""
        if self._open.pop(slot, 0) is None:
            if sent:
                self._answered.append(time.monotonic())
            self._released.set()

    def slow_down(self) -> None:
        """Telegram saw too many: space slots a little further apart for a while."""
        self.interval = min(self.interval * self.SLOW_DOWN, self.base_interval / self.SLOWEST)
        self._slowed_at = time.monotonic()

    def _free_at(self) -> float:
        now = time.monotonic()
        while self._answered and self._answered[0] <= now - 1.0:
            self._answered.popleft()
        while self._open and next(iter(self._open)).granted <= now - self.FORGET_AFTER:
            forgotten = next(iter(self._open))
            del self._open[forgotten]
            log.warning("a send slot was never given back; it no longer counts")
        window = 0.0
        if len(self._open) + len(self._answered) >= self.limit:
            # Full: the next slot frees a second after the oldest answer, or, with every slot
            # still in flight, only once some answer comes back.
            window = self._answered[0] + 1.0 if self._answered else math.inf
        return max(self.next_slot, self.held_until, window)

    async def slot(self, lane: Lane) -> Slot:
        """Wait for this lane's turn; give the slot back with ``release`` once answered."""
        now = time.monotonic()
        if not any(self._waiting.values()) and now >= self._free_at():
            return self._take(now)
        waiter: asyncio.Future[Slot] = asyncio.get_running_loop().create_future()
        self._waiting[lane].append(waiter)
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._tick())
        try:
            return await waiter
        except asyncio.CancelledError:
            if not waiter.done() or waiter.cancelled():
                self._discard(lane, waiter)
            else:  # handed a slot in the same instant it was cancelled
                self.release(waiter.result())
            raise

    def _discard(self, lane: Lane, waiter: asyncio.Future[Slot]) -> None:
        with contextlib.suppress(ValueError):  # already handed a slot
            self._waiting[lane].remove(waiter)

    def _next_waiter(self) -> asyncio.Future[Slot] | None:
        for lane in (Lane.REPLY, Lane.FANOUT):
            queue = self._waiting[lane]
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    return waiter
        return None

    async def _tick(self) -> None:
        while any(self._waiting.values()):
            delay = self._free_at() - time.monotonic()
            if delay > 0:
                # An answer coming back can open the window early; a flood pause may move
                # the slot meanwhile: look again after either.
                self._released.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), min(delay, 1.0))
                continue
            waiter = self._next_waiter()
            if waiter is not None:
                waiter.set_result(self._take(time.monotonic()))

    def hold(self, seconds: float) -> None:
        """No slot before ``seconds`` from now (Telegram asked for a pause)."""
        self.held_until = max(self.held_until, time.monotonic() + seconds)

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()


class GroupWindow:
    """At most ``limit`` messages in any ``span`` seconds to one group or channel: a
    sliding window, as Telegram counts (a burst of 20 answers goes out at once, the 21st
    waits until the first is a minute old)."""

    def __init__(self, limit: int, span: float = 60.0) -> None:
        self.limit = limit
        self.span = span
        self._sent: dict[int | str, deque[float]] = {}
        self._locks: dict[int | str, asyncio.Lock] = {}
        self._pruned = 0.0

    async def wait(self, chat_id: int | str) -> bool:
        """Count one message to ``chat_id``; returns True if it had to wait."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        waited = False
        async with lock:
            sent = self._sent.setdefault(chat_id, deque())
            while True:
                now = time.monotonic()
                while sent and sent[0] <= now - self.span:
                    sent.popleft()
                if len(sent) < self.limit:
                    break
                waited = True
                await asyncio.sleep(sent[0] + self.span - now + 0.01)
            sent.append(now)
        if now - self._pruned > self.span:  # a fan-out reaches thousands of groups a minute
            self._pruned = now
            self._forget_quiet(now)
        return waited

    def _forget_quiet(self, now: float) -> None:
        for chat_id in [c for c, s in self._sent.items() if not s or s[-1] <= now - self.span]:
            if not self._locks[chat_id].locked():
                del self._sent[chat_id], self._locks[chat_id]


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

    def __init__(self, rate: float = FREE_RATE, *, broadcast_rate: float = FREE_RATE,
                 paid: bool = False, group_per_minute: int = GROUP_PER_MINUTE,
                 retry_delays: dict[str, tuple[float, ...]] | None = None) -> None:
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
        return cls(config.send_rate, broadcast_rate=config.broadcast_rate,
                   paid=config.paid_broadcast)

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

    async def _slots(self, lane: Lane, paid: bool) -> list[Slot]:
        if lane is Lane.FANOUT:
            return await self._fanout_slots(paid=paid)
        return [await self._overall.slot(Lane.REPLY)]

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
        group = (chat_id if chat_id is not None and counted
                 and (isinstance(chat_id, str) or int(chat_id) < 0) else None)
        delays = (self.retry_delays or RETRY_DELAYS)[lane.value]
        flood_waits = retries = 0
        while True:
            slots: list[Slot] = []
            if counted:
                waited = group is not None and await self._groups.wait(group)
                if ticket is not None and not ticket.spent and not waited:
                    ticket.spent = True  # its slot was taken just before this request
                    slots = ticket.slots
                else:
                    if ticket is not None:
                        self.give_back(ticket)  # its slot went by while the group waited
                    slots = await self._slots(lane, paid)
            try:
                try:
                    return await callback(*args, **kwargs)
                finally:
                    self._release(slots)
            except RetryAfter as error:
                self.flood_waits += 1
                flood_waits += 1
                if flood_waits > MAX_FLOOD_WAITS:
                    log.warning("%s: still flood-limited after %d waits", endpoint,
                                MAX_FLOOD_WAITS)
                    raise
                pause = retry_after_seconds(error) + 0.1
                log.info("Telegram asked for a %.1f s pause; every lane waits", pause)
                self._hold(pause, paid=paid)
                if not counted:
                    await asyncio.sleep(pause)
            except NetworkError as error:
                if not retryable(error) or retries >= len(delays):
                    raise
                await asyncio.sleep(delays[retries])
                retries += 1
