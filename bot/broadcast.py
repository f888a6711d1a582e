"""Fan-out: one message to many chats at a capped rate, at most once per (occurrence, chat).

Every message is logged "pending" durably before it is sent and "sent" or "failed" after, so
a crash at any point leaves either no row (never attempted: safe to send later) or a
"pending" row (maybe sent: never resent). Telegram's errors each get their own treatment:
a chat that blocked the bot is unsubscribed, a group that became a supergroup is moved to its
new id and sent to there, flood control is waited out, and passing network trouble is
retried with backoff, except a timeout: the message may have gone out, so it is logged
"uncertain" and not resent. Nothing here raises: a failure is logged and the fan-out goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from telegram import InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.store import Store, StoreError

log = logging.getLogger(__name__)

RETRY_DELAYS = (1.0, 5.0, 30.0)
"""Backoff between attempts after a network error or a server error, then give up."""
MAX_FLOOD_WAITS = 5
"""RetryAfter is waited out this many times (after AIORateLimiter's own retries)."""
MAX_WORKERS = 64
PROGRESS_EVERY = 3.0
"""Seconds between progress reports (an edited message for /broadcast)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: str
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None


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


PACE_MARGIN = 0.97
"""Pace a little under the limit: the durable write between pacing and sending adds jitter,
and at exactly 30/s a strict one-second window then sees 31 and Telegram answers 429."""


class Pacer:
    """Spaces the starts of sends ``1/rate`` seconds apart, across all workers."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / (rate * PACE_MARGIN)
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return _seconds(error.retry_after)


class FanOut:
    """Sends ``Outgoing`` messages with the delivery log as the source of truth."""

    def __init__(self, bot: ExtBot, store: Store, *, rate: float, paid: bool = False,
                 pacer: Pacer | None = None,
                 retry_delays: tuple[float, ...] | None = None) -> None:
        self.bot = bot
        self.store = store
        self.rate = rate
        self.paid = paid
        self.retry_delays = RETRY_DELAYS if retry_delays is None else retry_delays
        self.pacer = pacer or Pacer(rate)
        self.result = FanOutResult()
        self.keep_going: Callable[[], bool] = lambda: True

    async def run(self, items: Iterable[Outgoing],
                  progress: Callable[[FanOutResult], Awaitable[None]] | None = None,
                  keep_going: Callable[[], bool] = lambda: True) -> FanOutResult:
        """Deliver every item; returns the counts. Never raises for a single chat's failure.

        ``keep_going`` is checked before each message: when the bot is stopping, sends in
        flight finish and are logged, and the rest stay unlogged for the next start.
        """
        iterator = iter(items)
        last_report = time.monotonic()
        self.keep_going = keep_going

        async def worker() -> None:
            nonlocal last_report
            for item in iterator:  # a shared iterator: each item goes to one worker
                if not keep_going():
                    self.result.stopped = True
                    return
                try:
                    await self.deliver(item)
                except Exception:  # one chat must never stop the fan-out
                    log.exception("delivery of %s to a chat failed unexpectedly", item.key)
                if progress and time.monotonic() - last_report >= PROGRESS_EVERY:
                    last_report = time.monotonic()
                    await _report(progress, self.result)

        workers = max(1, min(MAX_WORKERS, int(self.rate)))
        await asyncio.gather(*(worker() for _ in range(workers)))
        if progress:
            await _report(progress, self.result)
        return self.result

    async def deliver(self, item: Outgoing) -> None:
        if self.store.delivery(item.key, item.chat_id) is not None:
            self.result.already += 1
            return
        await self.pacer.wait()
        if not self.keep_going():
            self.result.stopped = True  # not logged: the next start sends it
            return
        try:
            await self.store.set_deliveries([(item.key, item.chat_id, "pending")])
        except StoreError:
            log.exception("could not log a delivery as pending; not sending %s", item.key)
            self.result.failed += 1
            return
        chat_id, state = await self._send(item)
        if state == "sent":
            self.result.sent += 1
        else:
            self.result.failed += 1
        await self.store.set_deliveries([(item.key, chat_id, state)])

    async def _send(self, item: Outgoing) -> tuple[int, str]:
        """Send with retries; returns the chat id it ended up at and the final state."""
        chat_id = item.chat_id
        attempt = flood_waits = 0
        migrated = False
        while True:
            try:
                await self.bot.send_message(
                    chat_id, item.text, reply_markup=item.markup,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    allow_paid_broadcast=True if self.paid else None)
                return chat_id, "sent"
            except RetryAfter as error:
                flood_waits += 1
                if flood_waits > MAX_FLOOD_WAITS:
                    log.warning("%s: still flood-limited after %d waits", item.key, flood_waits)
                    return chat_id, "failed"
                await asyncio.sleep(retry_after_seconds(error) + 0.1)
                continue
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
                if self.store.delivery(item.key, chat_id) != "pending":
                    return chat_id, self.store.delivery(item.key, chat_id) or "failed"
                continue
            except BadRequest as error:
                log.warning("%s: Telegram refused the message: %s", item.key, error.message)
                return chat_id, "failed"
            except TimedOut:
                # Telegram may have delivered it and only the answer was lost: resending
                # could send it twice, so it stays unsent (at most once) and is logged so.
                log.warning("%s: no answer from Telegram; not resent", item.key)
                return chat_id, "uncertain"
            except (NetworkError, TelegramError) as error:
                if attempt >= len(self.retry_delays):
                    log.warning("%s: giving up after %d attempts: %s", item.key, attempt + 1,
                                error.__class__.__name__)
                    return chat_id, "failed"
                await asyncio.sleep(self.retry_delays[attempt])
                attempt += 1

    async def _unsubscribe(self, chat_id: int) -> None:
        settings = self.store.chat(chat_id)
        if settings is not None and settings.subscribed:
            await self.store.put_chat(dataclasses.replace(settings, subscribed=False))
        log.info("a chat blocked the bot or removed it: unsubscribed")


async def _report(progress: Callable[[FanOutResult], Awaitable[None]],
                  result: FanOutResult) -> None:
    try:
        await progress(dataclasses.replace(result))
    except Exception:  # a failed progress message must not stop the fan-out
        log.warning("could not report fan-out progress", exc_info=True)
