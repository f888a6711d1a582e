"""JobQueue glue: reminder jobs rebuilt from the store at every start (the broadcasts' fan-outs
in background are ``bot.reminders.broadcasts``).

JobQueue (APScheduler) keeps its jobs in memory only, so nothing about a reminder lives in a
job: the store's settings, content and delivery log say what is owed, and the jobs only say
when to look. At start a catch-up sweep runs at once; a planning job then schedules one job
per instant at which some chat's reminder falls due, a little ahead. Every sweep looks back
twelve hours, so a job that fired late, a crash or a restart never loses a reminder, and the
delivery log means none is sent twice.

APScheduler's default misfire grace time is one second: a job that starts later than that
(the event loop busy with a fan-out, say) is silently dropped. Here it is set on every job,
on purpose, to the twelve hours a reminder stays worth sending.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from telegram.ext import Application

from bot.content.schema import ProtestEvent
from bot.ops import alerts, health
from bot.protests.model import live_events
from bot.reminders import news
from bot.reminders.broadcasts import AppServices, BackgroundFanOuts
from bot.reminders.schedule import (
    CATCH_UP_LIMIT,
    Digest,
    Reminder,
    SweepPlan,
    due_between,
    due_instants,
    message_key,
    next_reminder,
    plan_for_groups,
    sweep_window,
)
from bot.reminders.texts import Words, reminder_words
from bot.store.models import ChatSettings
from bot.telegram.fanout import FanOutResult, Outgoing
from bot.zones import local_time, zone

if TYPE_CHECKING:
    from bot.context import BotContext

log = logging.getLogger(__name__)

PLAN_JOB = "reminders:plan"
SWEEP_JOB = "reminders:sweep:"
PRUNE_JOB = "reminders:prune"
PLAN_INTERVAL = timedelta(minutes=10)
PLAN_AHEAD = timedelta(minutes=30)
"""Sweep jobs are created this far ahead; a plan run every 10 minutes keeps it topped up."""
PRUNE_INTERVAL = timedelta(days=1)
KEEP_LOG_DAYS = 60
LAST_SWEPT = "reminders.last_swept"

SWEEP_JOB_KWARGS = {"misfire_grace_time": int(CATCH_UP_LIMIT.total_seconds()), "coalesce": True}
PLAN_JOB_KWARGS = {"misfire_grace_time": int(PLAN_INTERVAL.total_seconds()), "coalesce": True}


async def start(application: Application) -> None:
    """Called from post_init: rebuild every job from the store and catch up."""
    service = ReminderService(application)
    application.bot_data.reminders = service
    await service.start()


def service(application: Application) -> ReminderService | None:
    """The Application's reminder service (in ``bot_data``), None before ``start``."""
    return application.bot_data.reminders


def settings_changed(application: Application, chat_id: int | None = None) -> None:
    """What or when someone hears changed: plan again, and deliver at once what is owed now
    (to that chat only, if one is given; to everyone after a protest was added)."""
    found = service(application)
    if found is None:
        return
    if chat_id is None:
        found.replan()
        found.schedule_sweep(None)
    else:
        found.schedule_chat_sweep(chat_id)


class ReminderService(AppServices):
    """Owns the reminder jobs of one Application, and has its background fan-outs."""

    def __init__(self, application: Application) -> None:
        super().__init__(application)
        self.fanouts = BackgroundFanOuts(application)
        self._sweep_lock = asyncio.Lock()

    # Jobs ----------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.note_news()
        self.fanouts.resume_fanouts()
        await self.fanouts.protests_changed()
        await self.fanouts.drop_finished_marks()
        self.job_queue.run_once(
            _sweep_job, when=0, data=self, name=SWEEP_JOB + "catch-up", job_kwargs=SWEEP_JOB_KWARGS
        )
        # An interval job whose first run is "now" is moved a whole interval on if the
        # scheduler starts a moment later (as it does: post_init runs before it starts), so
        # the first planning is a one-off job of its own.
        self.replan()
        self.job_queue.run_repeating(
            _plan_job,
            interval=PLAN_INTERVAL,
            first=PLAN_INTERVAL,
            data=self,
            name=PLAN_JOB,
            job_kwargs=PLAN_JOB_KWARGS,
        )
        self.job_queue.run_repeating(
            _prune_job,
            interval=PRUNE_INTERVAL,
            first=timedelta(hours=1),
            data=self,
            name=PRUNE_JOB,
            job_kwargs=PLAN_JOB_KWARGS,
        )

    async def note_news(self) -> None:
        """Record when the bot first had each update in the content, before any sweep: that
        makes it news (or not), once, whatever restarts follow."""
        seen = self.store.meta(news.SEEN, {})
        fresh = news.newly_seen(self.library.cards.values(), seen, self.now())
        if fresh:
            await self.store.set_meta(news.SEEN, {**seen, **fresh})
            log.info("content: %d new updates in cases followers may follow", len(fresh))

    def owed_news(self, now: datetime | None = None) -> list[news.News]:
        return news.owed_news(
            self.library.cards.values(), self.store.meta(news.SEEN, {}), now or self.now()
        )

    async def settle_before_following(self, chat_id: int, card_id: str) -> None:
        """A chat that starts following a card has just seen its news on the card: it is
        not told of it again."""
        rows = [
            (item.key, chat_id, "skipped")
            for item in self.owed_news()
            if item.card_id == card_id and self.store.deliveries.state(item.key, chat_id) is None
        ]
        if rows:
            await self.store.deliveries.set(rows)

    def replan(self) -> None:
        if not self.job_queue.get_jobs_by_name(PLAN_JOB + ":now"):
            self.job_queue.run_once(
                _plan_job, when=0, data=self, name=PLAN_JOB + ":now", job_kwargs=PLAN_JOB_KWARGS
            )

    def schedule_chat_sweep(self, chat_id: int) -> None:
        name = f"{SWEEP_JOB}chat:{chat_id}"
        if not self.job_queue.get_jobs_by_name(name):
            self.job_queue.run_once(
                _chat_sweep_job,
                when=0,
                data=(self, chat_id),
                name=name,
                job_kwargs=SWEEP_JOB_KWARGS,
            )

    def schedule_sweep(self, when: datetime | None) -> None:
        """A sweep at ``when`` (None: now), unless one is already scheduled for then."""
        name = SWEEP_JOB + (when.isoformat() if when else "now")
        if not self.job_queue.get_jobs_by_name(name):
            self.job_queue.run_once(
                _sweep_job, when=when or 0, data=self, name=name, job_kwargs=SWEEP_JOB_KWARGS
            )

    async def plan(
        self, now: datetime | None = None, only_chat: int | None = None
    ) -> list[datetime]:
        """Create a sweep job for each instant in the next half hour at which a reminder is
        due; returns those instants.

        The window starts at the last sweep, not at "now": an instant that passed between the
        last sweep and this plan (during start-up, say) gets a sweep at once. Only the
        distinct settings matter here (a few thousand among 100,000 subscribers), and they
        are gathered and evaluated in a worker thread so the bot keeps answering.
        """
        now = now or self.now()
        start = min(max(self._last_swept() or now, now - CATCH_UP_LIMIT), now)
        events, owed = self.events(), self.owed_news(now)

        def evaluate() -> set[datetime]:
            profiles = [settings for settings, _ in self._groups(start, events, only_chat)]
            return due_instants(
                profiles, self.library.anniversaries(), events, start, now + PLAN_AHEAD, owed
            )

        instants = sorted(await asyncio.to_thread(evaluate))
        if only_chat is None and any(instant <= now for instant in instants):
            self.schedule_sweep(None)
        for instant in instants:
            if instant > now:
                self.schedule_sweep(instant)
        log.debug("planned sweeps at %s", [instant.isoformat() for instant in instants])
        return instants

    def _groups(
        self, start: datetime, events: list[ProtestEvent], only_chat: int | None
    ) -> list[tuple[ChatSettings, Sequence[int]]]:
        """The chats to evaluate, grouped by what decides when they hear: everyone, or just
        ``only_chat``. Cities matter only while a protest is still to come. A chat that
        follows a card is a group of its own (subscribed or not): its news is its own."""
        if only_chat is None:
            groups = self.store.subscriber_groups(
                by_cities=bool(live_events(events, start)), followers_apart=True
            )
            return groups + [(chat, [chat.chat_id]) for chat in self.store.followers()]
        chat = self.store.chat(only_chat)
        return [(chat, [only_chat])] if chat and (chat.subscribed or chat.follows) else []

    def _last_swept(self) -> datetime | None:
        last = self.store.meta(LAST_SWEPT)
        try:
            when = datetime.fromisoformat(last) if isinstance(last, str) else None
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:  # a bad value: as if never swept
            if last:
                log.warning("the stored time of the last sweep is not valid; ignored")
            return None
        return when

    # Sweeping ------------------------------------------------------------------------------
    async def sweep(
        self, now: datetime | None = None, only_chat: int | None = None
    ) -> FanOutResult:
        """Deliver what is due, log what is too late, settle what a crash left open.

        ``only_chat``: just that chat's reminders of the last 12 hours (after it changed its
        settings); the record of the last full sweep is left alone.
        """
        async with self._sweep_lock:
            now = now or self.now()
            if only_chat is None:
                start, end = sweep_window(now, self._last_swept())
            else:
                start, end = now - CATCH_UP_LIMIT, now
            events, owed = self.events(), self.owed_news(now)

            def evaluate() -> SweepPlan:
                return plan_for_groups(
                    self._groups(start, events, only_chat),
                    self.library.anniversaries(),
                    events,
                    start,
                    end,
                    self.store.deliveries.rows,
                    now,
                    owed,
                )

            # Reading 100,000 subscribers, expanding their schedules into one message per
            # chat and day and looking each up in the delivery log takes a moment: all of it
            # runs off the event loop so the bot keeps answering (the store's tables are
            # copy-on-write snapshots, the functions are pure). A row written meanwhile is
            # seen by the fan-out, which checks the log again before it sends.
            plan = await asyncio.to_thread(evaluate)
            log.debug(
                "sweep at %s over (%s, %s]: %d to send, %d skipped, %d uncertain",
                now.isoformat(),
                start.isoformat(),
                end.isoformat(),
                len(plan.send),
                len(plan.skip),
                len(plan.uncertain),
            )
            await self._settle(
                plan.uncertain,
                "uncertain",
                "%d reminders of %s may have been sent before a crash: not resent",
            )
            await self._settle(
                plan.skip, "skipped", "%d reminders of %s were more than 12 hours late: skipped"
            )
            for _reminder, morning in plan.defer:
                self.schedule_sweep(morning)
            outgoing = self._render_all(plan.send, events)
            result = await self.fan_out().run(outgoing, keep_going=self._running)
            if not result.stopped and only_chat is None:
                await self.store.set_meta(LAST_SWEPT, now.isoformat())
            if plan.send:
                log.info(
                    "reminders: %d sent, %d failed, %d blocked, %d migrated",
                    result.sent,
                    result.failed,
                    result.blocked,
                    result.migrated,
                )
                await alerts.report_fan_out(self.application, "reminders", result)
            return result

    async def _settle(self, reminders: list[Digest], state: str, message: str) -> None:
        if not reminders:
            return
        rows = [(r.key, r.chat_id, state) for r in reminders]
        if state == "uncertain":  # maybe sent, so its news counts as told; news skipped
            # for lateness is not logged under its own key: another day's message tells it.
            rows += [(key, r.chat_id, state) for r in reminders for key in news_keys(r)]
        await self.store.deliveries.set(rows)
        for key, count in Counter(r.key for r in reminders).items():
            log.warning(message, count, key)

    def _render_all(
        self, messages: list[Digest], events: list[ProtestEvent]
    ) -> Iterator[Outgoing]:
        """Rendered as the fan-out reaches each chat, from its settings as they are then: a
        chat that unsubscribed or chose another language meanwhile is served accordingly.

        Chats in one language with the same items and protests nearby get the same words, so
        each text is composed once per sweep and shared (100,000 reminders, a few texts).
        """
        by_id = {event.id: event for event in events}
        texts: dict[tuple, Words] = {}
        for message in messages:
            chat = self.store.chat(message.chat_id)
            if chat is None:
                continue
            items = tuple(
                item
                for item in message.items
                if (item.subject_id in chat.follows if item.kind == news.KIND else chat.subscribed)
            )
            if items != message.items:
                message = dataclasses.replace(message, items=items)
            words = reminder_words(message, chat, self.library, by_id, events, texts)
            if words is not None:
                yield Outgoing(message.key, chat.chat_id, *words, also=news_keys(message))

    def upcoming_for(self, chat: ChatSettings, now: datetime | None = None) -> Reminder | None:
        """The next reminder this chat gets: one owed now (sent within minutes), else the
        first in the future, leaving out days whose message has already gone."""
        now = now or self.now()
        cards, events = self.library.anniversaries(), self.events()
        owed = [
            r
            for r in due_between([chat], cards, events, now - CATCH_UP_LIMIT, now)
            if self.store.deliveries.state(message_key(r), r.chat_id) is None
        ]
        if owed:
            return owed[0]
        upcoming = next_reminder(chat, cards, events, now)
        if (
            upcoming is None
            or self.store.deliveries.state(message_key(upcoming), chat.chat_id) is None
        ):
            return upcoming
        tomorrow = upcoming.due.astimezone(zone(chat.timezone)).date() + timedelta(days=1)
        return next_reminder(chat, cards, events, local_time(tomorrow, 0, zone(chat.timezone)))

    async def settle_before_subscribing(
        self, chat: ChatSettings, now: datetime | None = None
    ) -> None:
        """A new subscriber does not get the reminders that fell due before they joined."""
        now = now or self.now()
        due = due_between(
            [chat], self.library.anniversaries(), self.events(), now - CATCH_UP_LIMIT, now
        )
        keys = {message_key(r) for r in due}
        rows = [
            (key, chat.chat_id, "skipped")
            for key in sorted(keys)
            if self.store.deliveries.state(key, chat.chat_id) is None
        ]
        if rows:
            await self.store.deliveries.set(rows)


def news_keys(message: Digest) -> tuple[str, ...]:
    """The news a message tells: logged under their own keys too, so that no other day's
    message tells them again."""
    return tuple(item.key for item in message.items if item.kind == news.KIND)


async def _sweep_job(context: BotContext) -> None:
    await context.job_data.sweep()


async def _chat_sweep_job(context: BotContext) -> None:
    """After one chat's change: its sweep jobs for the next half hour, and what it is owed."""
    found, chat_id = context.job_data
    await found.plan(only_chat=chat_id)
    await found.sweep(only_chat=chat_id)


async def _plan_job(context: BotContext) -> None:
    found = context.job_data
    await found.plan()
    health.beat(found.config.data_dir, health.REMINDERS)


async def _prune_job(context: BotContext) -> None:
    found = context.job_data
    dropped = await found.store.deliveries.prune(KEEP_LOG_DAYS)
    if dropped:
        log.info("dropped the delivery log of %d old occurrences", dropped)
    await found.fanouts.drop_finished_marks()
