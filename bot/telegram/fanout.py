"""Fan-out: one message to many chats within the send budget, at most once per (occurrence, chat).

Every message is logged "pending" durably before it is sent and "sent" or "failed" after, so
a crash at any point leaves either no row (never attempted: safe to send later) or a
"pending" row (maybe sent: never resent). Pacing, flood waits and retries of requests that
never left are the send budget's (``bot.telegram.budget``): the fan-out is its
low-priority lane, and takes what answers to people leave. Telegram's other answers each get
their own treatment here: a chat that blocked the bot is unsubscribed, a group that became a
supergroup is moved to its new id and sent to there, and a request whose answer was lost is
logged "uncertain" and not resent (the message may have gone out). Nothing here raises: a
failure is logged and the fan-out goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

from bot.store.repository import Store, StoreError
from bot.telegram.budget import FANOUT, SendBudget, Ticket
from bot.telegram.transport import connections_for, lost_answer, never_sent
from telegram import InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0
"""Seconds between progress reports (an edited message for /broadcast)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: str
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None
    about: tuple[str, ...] = ()
    """The protests this message tells of: marked as told to the chat as it is logged."""
    also: tuple[str, ...] = ()
    """Other delivery-log keys this message settles, logged with it at every step: the news
    a day's message tells (``bot.reminders.news``)."""

    def rows(self, chat_id: int, state: str) -> list[tuple[str, int, str]]:
        return [(key, chat_id, state) for key in (self.key, *self.also)]


CHANNEL_RIGHTS_LOST = "need administrator rights in the channel"
"""Telegram's 400 for a channel where the bot is an administrator no longer allowed to post."""


class InFlight:
    """How many sends the fan-out keeps in flight at once.

    By Little's law a rate needs ``rate × round trip`` sends in flight; more only wait in
    queues, and each connection in use costs httpcore a scan of its pool on every request
    (a bare PTB sender: 586 messages/s with 8 in flight, 226/s with 100). So the fan-out
    starts with ``FLOOR`` in flight and allows twice what its rate needs at the shortest
    round trip seen since it began: the network's own delay, measured before queues could
    form (a recent round trip would include the fan-out's own queue and feed on itself).
    Never more than the bot has connections: a send waiting for a connection is logged
    "pending" and would be one more "uncertain" after a crash.
    """

    FLOOR = 8

    def __init__(self, rate: float, most: int) -> None:
        self.rate = rate
        self.most = most
        self.limit = min(self.FLOOR, most)
        self.busy = 0
        self.shortest = math.inf
        """The shortest round trip so far, in seconds."""
        self._freed = asyncio.Event()

    async def acquire(self) -> None:
        while self.busy >= self.limit:
            self._freed.clear()
            await self._freed.wait()
        self.busy += 1

    def release(self, round_trip: float | None = None) -> None:
        """One send finished; ``round_trip`` is how long it took, if it was made."""
        self.busy -= 1
        if round_trip is not None and round_trip < self.shortest:
            self.shortest = round_trip
            needed = math.ceil(2 * self.rate * round_trip)
            self.limit = max(min(self.FLOOR, self.most), min(self.most, needed))
        self._freed.set()


@dataclass(slots=True)
class FanOutResult:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    migrated: int = 0
    already: int = 0
    """Had a delivery row already (sent before, or maybe sent by a run that crashed)."""
    stopped: bool = False
    """The bot began stopping before every message was attempted."""

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.already


STAGE_AHEAD = 0.05
"""Seconds of sending logged "pending" ahead of the dispatcher, on top of what a log commit takes:
enough that a send never waits for the log, little enough that a crash leaves few messages
"uncertain"."""
MAX_STAGE_SECONDS = 0.25
"""However slow the log's writes get (a busy machine), no more than this much sending is
staged ahead: every staged message is one more "uncertain" if the process dies."""


class FanOut:
    """Sends ``Outgoing`` messages with the delivery log as the source of truth.

    Three parts, so that the log's durable writes never sit between a pacing slot and its
    send (that made sends bunch, and Telegram answer 429):

    * the stager logs the next few messages "pending" in one write, just ahead of need;
    * the dispatcher takes a staged message, then a fan-out slot of the send budget
      (``SendBudget.reserve``), and starts its send with that slot;
    * the recorder logs outcomes ("sent", "failed", ...) in batches as they come.
    """

    def __init__(self, bot: ExtBot, store: Store) -> None:
        budget = bot.rate_limiter
        if not isinstance(budget, SendBudget):
            raise TypeError("the fan-out needs a bot built with bot.telegram.budget.SendBudget")
        self.bot = bot
        self.store = store
        self.budget: SendBudget = budget
        self.rate = budget.fanout_rate
        self.paid = budget.paid
        self.result = FanOutResult()
        self.keep_going: Callable[[], bool] = lambda: True
        self._staged: asyncio.Queue[Outgoing | None] = asyncio.Queue()
        self._running_low = asyncio.Event()
        self._outcomes: list[tuple[str, int, str]] = []
        self._outcome_ready = asyncio.Event()
        self._finished = False
        self._reported: FanOutResult | None = None
        self._commit_seconds = 0.01
        """A running estimate of one durable log write: how far ahead the stager works."""

    async def run(
        self,
        items: Iterable[Outgoing],
        progress: Callable[[FanOutResult], Awaitable[None]] | None = None,
        keep_going: Callable[[], bool] = lambda: True,
    ) -> FanOutResult:
        """Deliver every item; returns the counts. Never raises for a single chat's failure.

        ``keep_going`` is checked before each batch is staged: when the bot is stopping, the
        few messages already logged "pending" are sent and logged, the rest stay unlogged
        for the next start.
        """
        self.keep_going = keep_going
        recording = asyncio.ensure_future(self._record(progress))
        try:
            await asyncio.gather(self._stage(iter(items)), self._dispatch())
        finally:
            self._outcome_ready.set()
            self._finished = True
            await recording
        if progress:
            await self._report(progress)
        return self.result

    async def _report(self, progress: Callable[[FanOutResult], Awaitable[None]]) -> None:
        """Report the counts unless they are what was last reported (Telegram refuses an
        edit that changes nothing)."""
        counts = dataclasses.replace(self.result)
        if counts == self._reported:
            return
        self._reported = counts
        try:
            await progress(counts)
        except Exception:  # a failed progress message must not stop the fan-out
            log.warning("could not report fan-out progress", exc_info=True)

    def _ahead(self) -> int:
        seconds = min(MAX_STAGE_SECONDS, STAGE_AHEAD + 2 * self._commit_seconds)
        return max(1, math.ceil(self.rate * seconds))

    async def _stage(self, items: Iterator[Outgoing]) -> None:
        """Keep about ``_ahead()`` messages logged "pending" and queued for the dispatcher."""
        try:
            exhausted = False
            while not exhausted:
                if not self.keep_going():
                    self.result.stopped = True
                    break
                batch: dict[tuple[str, int], Outgoing] = {}
                while self._staged.qsize() + len(batch) < self._ahead():
                    item = next(items, None)
                    if item is None:
                        exhausted = True
                        break
                    if (item.key, item.chat_id) in batch or self.store.deliveries.state(
                        item.key, item.chat_id
                    ) is not None:
                        self.result.already += 1
                    else:
                        batch[item.key, item.chat_id] = item
                if batch and await self._log_pending(list(batch.values())):
                    for item in batch.values():
                        self._staged.put_nowait(item)
                if not exhausted:
                    self._running_low.clear()
                    if self._staged.qsize() > self._ahead() // 2:
                        await self._running_low.wait()
        finally:
            self._staged.put_nowait(None)

    async def _log_pending(self, batch: list[Outgoing]) -> bool:
        began = time.monotonic()
        rows = [row for item in batch for row in item.rows(item.chat_id, "pending")]
        told = [(event_id, item.chat_id) for item in batch for event_id in item.about]
        try:
            if told:
                await self.store.set_deliveries_telling(rows, told)
            else:
                await self.store.deliveries.set(rows)
        except StoreError:
            log.exception("could not log %d deliveries as pending; not sending them", len(batch))
            self.result.failed += len(batch)
            return False
        self._commit_seconds = 0.8 * self._commit_seconds + 0.2 * (time.monotonic() - began)
        return True

    async def _dispatch(self) -> None:
        """Start each staged send on its own pacing slot, no more at once than ``InFlight``
        allows. The slot is taken once there is a message to send, so none is held while the
        queue is empty."""
        in_flight = InFlight(self.rate, connections_for(self.rate))
        sends: set[asyncio.Task] = set()
        while True:
            await in_flight.acquire()
            if self._staged.empty():
                self._running_low.set()
            item = await self._staged.get()
            if item is None:
                break
            ticket = await self.budget.reserve()
            if self._staged.qsize() <= self._ahead() // 2:
                self._running_low.set()
            task = asyncio.ensure_future(self._deliver_staged(item, ticket, in_flight))
            sends.add(task)
            task.add_done_callback(sends.discard)
        if sends:
            await asyncio.gather(*sends)

    async def _deliver_staged(self, item: Outgoing, ticket: Ticket, in_flight: InFlight) -> None:
        began = time.monotonic()
        round_trip = None
        try:
            chat_id, state = await self._send(item, ticket)
            round_trip = time.monotonic() - began
        except Exception:  # one chat must never stop the fan-out
            log.exception("delivery of %s to a chat failed unexpectedly", item.key)
            chat_id, state = item.chat_id, "failed"
        finally:
            self.budget.give_back(ticket)  # unless its request spent it
            in_flight.release(round_trip)
        if state == "sent":
            self.result.sent += 1
        else:
            self.result.failed += 1
        self._outcomes.extend(item.rows(chat_id, state))
        self._outcome_ready.set()

    async def _record(self, progress: Callable[[FanOutResult], Awaitable[None]] | None) -> None:
        """Log outcomes as they come, many per durable write (group commit does the rest)."""
        last_report = time.monotonic()
        while True:
            await self._outcome_ready.wait()
            self._outcome_ready.clear()
            rows, self._outcomes = self._outcomes, []
            if rows:
                try:
                    await self.store.deliveries.set(rows)
                except StoreError:
                    log.exception(
                        "could not log %d delivery outcomes; they stay "
                        '"pending" and will not be resent',
                        len(rows),
                    )
            if progress and time.monotonic() - last_report >= PROGRESS_EVERY:
                last_report = time.monotonic()
                await self._report(progress)
            if self._finished and not self._outcomes:
                return

    async def _send(self, item: Outgoing, ticket: Ticket) -> tuple[int, str]:
        """Send (the budget waits out floods and retries what never left); returns the chat
        id it ended up at and the final state."""
        chat_id = item.chat_id
        slot: Ticket | object = ticket
        migrated = False
        while True:
            try:
                await self.bot.send_message(
                    chat_id,
                    item.text,
                    reply_markup=item.markup,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    allow_paid_broadcast=True if self.paid else None,
                    rate_limit_args=slot,
                )
                return chat_id, "sent"
            except RetryAfter:
                return chat_id, "failed"  # the budget already waited as long as it should
            except Forbidden:
                await self._unsubscribe(chat_id)
                self.result.blocked += 1
                return chat_id, "failed"
            except ChatMigrated as error:
                if migrated:
                    return chat_id, "failed"
                migrated = True
                await self.store.migrate_chat(chat_id, error.new_chat_id)
                log.info("a group became a supergroup; its subscription moved to the new id")
                chat_id = error.new_chat_id
                self.result.migrated += 1
                if self.store.deliveries.state(item.key, chat_id) != "pending":
                    return chat_id, self.store.deliveries.state(item.key, chat_id) or "failed"
                slot = FANOUT
                continue
            except BadRequest as error:
                if CHANNEL_RIGHTS_LOST in error.message.lower():
                    # A channel that took the bot's right to post: a removal in all but
                    # name, so it is treated like one (its admins can /channel it again).
                    await self._unsubscribe(chat_id)
                    self.result.blocked += 1
                    return chat_id, "failed"
                log.warning("%s: Telegram refused the message: %s", item.key, error.message)
                return chat_id, "failed"
            except TelegramError as error:
                if lost_answer(error):
                    # Telegram may have delivered it and only the answer was lost: resending
                    # could send it twice, so it stays unsent (at most once) and is logged so.
                    log.warning("%s: no answer from Telegram; not resent", item.key)
                    return chat_id, "uncertain"
                what = "no connection" if never_sent(error) else error.__class__.__name__
                log.warning("%s: giving up after the budget's retries: %s", item.key, what)
                return chat_id, "failed"

    async def _unsubscribe(self, chat_id: int) -> None:
        settings = self.store.chat(chat_id)
        if settings is not None and (settings.subscribed or settings.follows):
            await self.store.put_chat(dataclasses.replace(settings, subscribed=False, follows=[]))
        log.info("a chat blocked the bot or removed it: unsubscribed")
