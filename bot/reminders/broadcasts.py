"""Broadcasts and cancellation notices: fan-outs recorded durably, run as background jobs and
resumed after a restart; and the services of one Application that the reminder jobs share.

``ReminderService`` (``bot.reminders.service``) is built on this base, so a broadcast, a
cancellation notice and a day's reminders all go out through one fan-out and one send budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from telegram.error import TelegramError
from telegram.ext import Application

from bot.content.schema import ProtestEvent
from bot.i18n import card_fallback, translator
from bot.ops import alerts
from bot.protests.model import TOLD_SINCE, VERSIONS, city_key, event_start, versioned, wants_event
from bot.protests.repository import ProtestRepository
from bot.protests.wording import cancellation_text, change_text, city_message, reminder_markup
from bot.reminders.schedule import LEAD_CHOICES, event_due, event_key, event_message_key
from bot.store.repository import Store
from bot.telegram.fanout import FanOut, FanOutResult, Outgoing

if TYPE_CHECKING:
    from bot.config import Config
    from bot.content.library import Library
    from bot.context import BotContext

log = logging.getLogger(__name__)

FANOUT_JOB = "fanout:"
FANOUTS = "fanouts"
"""Meta key: broadcasts and cancellation notices still being sent (resumed after a restart)."""
MARKS_KEPT_AFTER = timedelta(hours=12)
"""A protest is over this long after it started: its marks are dropped."""
FANOUT_JOB_KWARGS = {"misfire_grace_time": None, "coalesce": True}
"""None: a fan-out that could not start on time starts late rather than never."""


class AppServices:
    """What the reminder jobs and the background fan-outs of one Application both use: its
    store, content, configuration, clock, job queue and its one send path."""

    def __init__(self, application: Application) -> None:
        self.application = application
        if application.job_queue is None:
            raise RuntimeError("reminders need PTB's JobQueue: python-telegram-bot[job-queue]")
        self.job_queue = application.job_queue

    # Services ------------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        return self.application.bot_data.store

    @property
    def library(self) -> Library:
        return self.application.bot_data.library

    @property
    def config(self) -> Config:
        return self.application.bot_data.config

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    @property
    def protests(self) -> ProtestRepository:
        return self.application.bot_data.protests

    def events(self) -> list[ProtestEvent]:
        return self.protests.all()

    def fan_out(self) -> FanOut:
        # Every fan-out paces through the bot's one send budget (bot.telegram.budget).
        return FanOut(self.application.bot, self.store)

    def _running(self) -> bool:
        return self.application.running


class BackgroundFanOuts(AppServices):
    """One Application's fan-outs in background (broadcasts, city messages, change and
    cancellation notices): recorded before they start, resumed after a restart, reported."""

    def resume_fanouts(self) -> None:
        """At start: every fan-out a restart interrupted goes on where it stopped."""
        for key in self.store.meta(FANOUTS, {}):
            self._schedule_fanout(key)

    # Protests that changed ------------------------------------------------------------------
    async def protests_changed(self) -> int:
        """After an edit, and at every start (a changed file in ``content/events/``): raise
        the sequence of each protest that changed, and tell the chats already told of an
        upcoming one, once each. Returns how many change notices were started."""
        if self.store.meta(TOLD_SINCE) is None:
            await self.store.set_meta(TOLD_SINCE, self.now().isoformat())
        versions = self.store.meta(VERSIONS, {})
        updated, changed = versioned(self.events(), versions)
        running = self.store.meta(FANOUTS, {})
        started = 0
        # The notices are recorded before the new versions: a crash in between finds the
        # change again at the next start, and the recorded notice is not started twice.
        for old, new in changed:
            key = f"c:{new.id}:{new.sequence}"
            if key not in running and min(event_start(new), event_start(old)) > self.now():
                await self.start_fanout(
                    key, {"kind": "change", "event": new.id, "old": old.model_dump(mode="json")}
                )
                started += 1
        if updated != versions:
            await self.store.set_meta(VERSIONS, updated)
        return started

    async def drop_finished_marks(self) -> int:
        """A protest's marks (who was told, who plans to come) and their secret go once it
        is over: ``MARKS_KEPT_AFTER`` after its start, or when it is no longer known."""
        by_id = {event.id: event for event in self.events()}
        running = {spec.get("event") for spec in self.store.meta(FANOUTS, {}).values()}
        over = [
            event_id
            for event_id in self.store.marks.protest_ids()
            if event_id not in running
            and (
                event_id not in by_id
                or event_start(by_id[event_id]) + MARKS_KEPT_AFTER < self.now()
            )
        ]
        return await self.store.marks.drop(over)

    # Broadcasts and cancellation notices ---------------------------------------------------
    async def start_fanout(self, key: str, spec: dict[str, Any]) -> None:
        """Record the fan-out durably, then run it as a background job (resumed on restart)."""
        fanouts = self.store.meta(FANOUTS, {})
        fanouts[key] = spec
        await self.store.set_meta(FANOUTS, fanouts)
        self._schedule_fanout(key)

    def _schedule_fanout(self, key: str) -> None:
        self.job_queue.run_once(
            _fanout_job,
            when=0,
            data=(self, key),
            name=FANOUT_JOB + key,
            job_kwargs=FANOUT_JOB_KWARGS,
        )

    async def run_fanout(self, key: str) -> FanOutResult | None:
        spec = self.store.meta(FANOUTS, {}).get(key)
        if spec is None:
            return None
        progress = self._progress_reporter(spec)
        recipients = None
        if spec["kind"] in ("cancel", "change"):
            # Who was told is read from every chat's marks: off the event loop.
            event = self.protests.find(spec["event"])
            recipients = (
                await asyncio.to_thread(reminded_chats, self.store, event.id, event)
                if event
                else []
            )
        result = await self.fan_out().run(
            self._fanout_items(key, spec, recipients), progress, keep_going=self._running
        )
        if not result.stopped:
            fanouts = self.store.meta(FANOUTS, {})
            fanouts.pop(key, None)
            await self.store.set_meta(FANOUTS, fanouts)
            log.info("fan-out %s finished: %d sent, %d failed", key, result.sent, result.failed)
            await alerts.report_fan_out(self.application, spec["kind"], result)
        return result

    def _fanout_items(
        self, key: str, spec: dict[str, Any], recipients: list[int] | None
    ) -> Iterator[Outgoing]:
        if spec["kind"] == "cancel":
            event = self.protests.find(spec["event"])
            if event is None:
                return
            for chat_id in recipients or []:
                chat = self.store.chat(chat_id)
                tr = translator(chat.language if chat and chat.language else "en")
                yield Outgoing(key, chat_id, cancellation_text(tr, event))
        elif spec["kind"] == "change":
            new = self.protests.find(spec["event"])
            if new is None or new.cancelled:
                return
            old = ProtestEvent.model_validate(spec["old"])
            for chat_id in recipients or []:
                chat = self.store.chat(chat_id)
                tr = translator(chat.language if chat and chat.language else "en")
                yield Outgoing(
                    key, chat_id, change_text(tr, old, new), reminder_markup(tr, new), (new.id,)
                )
        elif spec["kind"] == "city":
            event = self.protests.find(spec["event"])
            if event is None:
                return
            for chat in self.store.all_chats():
                if chat.subscribed and wants_event(chat, event):
                    language = chat.language or "en"
                    text = spec["text"].get(language) or spec["text"]["en"]
                    yield Outgoing(
                        key,
                        chat.chat_id,
                        city_message(translator(language), event, text),
                        about=(event.id,),
                    )
        elif spec["kind"] == "broadcast":
            texts = spec["text"]
            for chat in self.store.all_chats():
                if not chat.subscribed:
                    continue
                language = chat.language or "en"
                # Organisers write English and Russian; a Kazakh reader gets the Russian.
                text = texts.get(language) or texts.get(card_fallback(language)) or texts["en"]
                yield Outgoing(key, chat.chat_id, text)

    def _progress_reporter(
        self, spec: dict[str, Any]
    ) -> Callable[[FanOutResult], Awaitable[None]] | None:
        chat_id, message_id = spec.get("report_chat"), spec.get("report_message")
        if not chat_id or not message_id:
            return None
        tr = translator(spec.get("report_language", "en"))
        total = spec.get("total") or self.store.subscriber_count()

        async def report(result: FanOutResult) -> None:
            text = tr.gettext(
                "Sending: %(done)d of about %(total)d (%(sent)d sent, %(failed)d failed)."
            ) % {"done": result.done, "total": total, "sent": result.sent, "failed": result.failed}
            # "Message is not modified" and the like: progress is best effort.
            with contextlib.suppress(TelegramError):
                await self.application.bot.edit_message_text(text, chat_id, message_id)

        return report


async def _fanout_job(context: BotContext) -> None:
    found, key = context.job_data
    await found.run_fanout(key)


def reminded_chats(store: Store, event_id: str, event: ProtestEvent | None = None) -> list[int]:
    """Chats told of this protest (or that may have been): they need its change or
    cancellation, and nobody else does.

    A message that names a protest marks it as told to the chat as it is logged
    (``ProtestMarks.told_among``). Rows of the older log, one per protest reminder, still count;
    so do day messages due before the bot kept told marks, judged as before by the day.
    """
    chats: set[int] = set()
    reached = ("sent", "uncertain")
    for lead in LEAD_CHOICES:
        rows = store.deliveries.rows(event_key(event_id, lead))
        chats.update(chat_id for chat_id, state in rows.items() if state in reached)
    everyone = list(store.all_chats())
    chats.update(store.marks.told_among(event_id, (chat.chat_id for chat in everyone)))
    since = store.meta(TOLD_SINCE)
    if event is None or since is None:
        return sorted(chats)
    marked_from = datetime.fromisoformat(since)
    city = city_key(event.city.en)
    for chat in everyone:
        if chat.chat_id in chats or not ("*" in chat.cities or city in chat.cities):
            continue
        for lead in set(chat.leads) & set(LEAD_CHOICES):
            due = event_due(event, lead, chat)
            key = event_message_key(event, lead, chat)
            if (
                due is not None
                and due < marked_from
                and key is not None
                and store.deliveries.state(key, chat.chat_id) in reached
            ):
                chats.add(chat.chat_id)
                break
    return sorted(chats)
