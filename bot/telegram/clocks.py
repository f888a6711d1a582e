"""The send budget's clocks: how many messages may leave, and when (``bot.telegram.budget``
uses them; nothing here knows about Telegram's API).

``Clock`` hands out slots at most ``rate`` a second in a one-second window that Telegram's own
count can never exceed: answers to people before the fan-out, one chat after another (a chat
with a backlog never delays another chat's answer), and the fan-out keeps its share against
chats answered moments ago; ``GroupWindow`` keeps one group or channel under its limit a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Hashable

log = logging.getLogger(__name__)


class Lane(enum.Enum):
    REPLY = "reply"
    FANOUT = "fanout"


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
    REPEAT_WITHIN = 5.0
    """A chat given a reply slot this many seconds ago is a repeat: its next answers share
    the budget with the fan-out. A chat's first answer in that time still goes first."""
    FANOUT_PER_REPEAT = 0.6
    """Fan-out slots owed per repeat answer: with both waiting, the fan-out gets at least a
    third of the slots (3 in 8), however many answers a few chats ask for."""

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
        self._replies: OrderedDict[Hashable, deque[asyncio.Future[Slot]]] = OrderedDict()
        """Waiting answers by chat, served one chat after another."""
        self._fanouts: deque[asyncio.Future[Slot]] = deque()
        self._last_reply: dict[Hashable, float] = {}
        """When each chat was last given a reply slot (pruned as they go quiet)."""
        self._owed = 0.0
        """Fan-out slots owed for repeat answers given while the fan-out waited."""
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
        if slot not in self._open:  # given back already, or forgotten
            return
        del self._open[slot]
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

    def _anyone_waiting(self) -> bool:
        return bool(self._replies or self._fanouts)

    async def slot(self, lane: Lane, chat: Hashable = None) -> Slot:
        """Wait for this lane's turn (a reply's turn among ``chat``'s); give the slot back
        with ``release`` once answered."""
        now = time.monotonic()
        if not self._anyone_waiting() and now >= self._free_at():
            if lane is Lane.REPLY:
                self._note_reply(chat, now)
            return self._take(now)
        waiter: asyncio.Future[Slot] = asyncio.get_running_loop().create_future()
        if lane is Lane.REPLY:
            self._replies.setdefault(chat, deque()).append(waiter)
        else:
            self._fanouts.append(waiter)
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._tick())
        try:
            return await waiter
        except asyncio.CancelledError:
            if not waiter.done() or waiter.cancelled():
                self._discard(lane, chat, waiter)
            else:  # handed a slot in the same instant it was cancelled
                self.release(waiter.result())
            raise

    def _discard(self, lane: Lane, chat: Hashable, waiter: asyncio.Future[Slot]) -> None:
        queue = self._fanouts if lane is Lane.FANOUT else self._replies.get(chat)
        with contextlib.suppress(ValueError):  # already handed a slot
            if queue is not None:
                queue.remove(waiter)
        if lane is Lane.REPLY and not queue:
            self._replies.pop(chat, None)

    def _note_reply(self, chat: Hashable, now: float) -> None:
        """Count a reply slot: a repeat for a chat answered moments ago owes the fan-out."""
        last = self._last_reply.get(chat)
        if self._fanouts and last is not None and now - last < self.REPEAT_WITHIN:
            self._owed = min(self._owed + self.FANOUT_PER_REPEAT, 4.0)
        self._last_reply[chat] = now
        if len(self._last_reply) > 4096:  # forget chats gone quiet
            self._last_reply = {
                c: t for c, t in self._last_reply.items() if now - t < self.REPEAT_WITHIN
            }

    def _next_fanout(self) -> asyncio.Future[Slot] | None:
        while self._fanouts:
            waiter = self._fanouts.popleft()
            if not waiter.done():
                return waiter
        return None

    def _next_reply(self, now: float) -> asyncio.Future[Slot] | None:
        while self._replies:
            chat, queue = next(iter(self._replies.items()))
            waiter = queue.popleft()
            if queue:
                self._replies.move_to_end(chat)  # the next chat's turn
            else:
                del self._replies[chat]
            if not waiter.done():
                self._note_reply(chat, now)
                return waiter
        return None

    def _next_waiter(self, now: float) -> asyncio.Future[Slot] | None:
        if not self._fanouts:
            self._owed = 0.0
        elif self._owed >= 1.0 or not self._replies:
            self._owed = max(0.0, self._owed - 1.0)
            waiter = self._next_fanout()
            if waiter is not None:
                return waiter
        return self._next_reply(now) or self._next_fanout()

    async def _tick(self) -> None:
        while self._anyone_waiting():
            delay = self._free_at() - time.monotonic()
            if delay > 0:
                # An answer coming back can open the window early; a flood pause may move
                # the slot meanwhile: look again after either.
                self._released.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), min(delay, 1.0))
                continue
            now = time.monotonic()
            waiter = self._next_waiter(now)
            if waiter is not None:
                waiter.set_result(self._take(now))

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
        self._held: dict[int | str, float] = {}
        """Groups Telegram asked to wait (429 for that chat), until when (monotonic)."""
        self._pruned = 0.0

    def hold(self, chat_id: int | str, seconds: float) -> None:
        """Nothing more to ``chat_id`` for ``seconds`` (Telegram answered 429 for it)."""
        self._held[chat_id] = max(self._held.get(chat_id, 0.0), time.monotonic() + seconds)

    def full(self, chat_id: int | str) -> bool:
        """Whether a message to ``chat_id`` now would have to wait (nothing is counted)."""
        if self._held.get(chat_id, 0.0) > time.monotonic():
            return True
        sent = self._sent.get(chat_id)
        if not sent or len(sent) < self.limit:
            return False
        lock = self._locks.get(chat_id)
        return sent[0] > time.monotonic() - self.span or bool(lock and lock.locked())

    async def wait(self, chat_id: int | str) -> bool:
        """Count one message to ``chat_id``; returns True if it had to wait."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        waited = False
        async with lock:
            sent = self._sent.setdefault(chat_id, deque())
            while True:
                now = time.monotonic()
                if (held := self._held.get(chat_id, 0.0)) > now:
                    waited = True
                    await asyncio.sleep(held - now)
                    continue
                self._held.pop(chat_id, None)
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
