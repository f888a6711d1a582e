"""When reminders fall due: pure functions of the settings, the content and a given "now".

Nothing here talks to Telegram or reads the clock, so every rule (time zones, daylight
saving, 29 February, quiet hours, catch-up after downtime) is tested with plain datetimes.

A reminder (one item owed to one chat) is named ``a:<card>:<year>:<lead>`` for an
anniversary, ``e:<event>:<lead>`` for a protest. A chat gets at most one message a day:
everything due for it on one day of its own calendar goes in one ``Digest``, logged under the
key ``d:<local date>``. The delivery log is keyed by (that key, chat), which is what makes a
restart or a catch-up unable to send a second message the same day. The one exception is a
protest's same-day reminder that its start time puts before the chat's hour: it stands alone,
under its own item key. News in a case a chat follows (``bot.reminders.news``) is one more item
of the day's message, ``u:<card>:<date>``, due at the chat's hour.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.content.schema import Card, ProtestEvent, observed_day
from bot.protests.model import event_start, live_events, wants_event
from bot.reminders.news import KIND as NEWS
from bot.reminders.news import TOLD_WITHIN, News
from bot.store.models import ChatSettings
from bot.zones import QUIET_UNTIL, delivery_hour, in_quiet_hours, local_time, quiet_hours_end, zone

CATCH_UP_LIMIT = timedelta(hours=12)
"""A reminder later than this is no longer useful ("tomorrow" would be wrong): skip it."""
SKIP_LOOKBACK = timedelta(days=30)
"""How far back a restart after long downtime still records skipped reminders."""
LEAD_CHOICES = (7, 1, 0)
EVENT_SAME_DAY_MARGIN = timedelta(hours=1)
"""The on-the-day protest reminder comes at least this long before the protest starts."""
NEXT_SEARCH = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class Reminder:
    """One message owed to one chat."""

    key: str
    chat_id: int
    due: datetime
    """When it should arrive (aware, UTC)."""
    kind: str  # "anniversary" | "event" | "update" (news in a case the chat follows)
    subject_id: str
    lead: int
    day: date
    """The anniversary's date, or the protest's date in the chat's time zone."""
    timezone: str
    alone: bool = False
    """A protest's same-day reminder due before the chat's hour: a message of its own."""


@dataclass(frozen=True, slots=True)
class Digest:
    """One message to one chat: every item due for it on one local day (or one protest's
    early same-day reminder), under the key the delivery log knows it by."""

    key: str
    chat_id: int
    due: datetime
    timezone: str
    items: tuple[Reminder, ...]


@dataclass(slots=True)
class SweepPlan:
    """What a sweep at "now" does with the messages that have fallen due."""

    send: list[Digest] = field(default_factory=list)
    skip: list[Digest] = field(default_factory=list)
    uncertain: list[Digest] = field(default_factory=list)
    """Written "pending" by a process that died mid-send: maybe delivered, never resent."""
    defer: list[tuple[Digest, datetime]] = field(default_factory=list)
    """Due during quiet hours (after downtime): wait until morning, if still in time."""


MASSACRE_CARD = "zhanaozen-massacre"
"""The card "Only 16 December" subscribes to."""


# Anniversaries -----------------------------------------------------------------------------


def anniversary_in(card: Card, year: int) -> date | None:
    """The day the card is remembered in ``year`` (``observed_day``), after its first."""
    month_day = card.anniversary_day
    if month_day is None or card.year is None or year <= card.year:
        return None
    return observed_day(year, *month_day)


def wanted_cards(chat: ChatSettings, cards: Iterable[Card]) -> list[Card]:
    """Anniversaries this chat is reminded of; only cards with a full date can be.

    What recurs is the editors' choice (``commemorated`` in the card): a dated fact such as
    a statement, a visit or Independence Day stays on the calendar and is never reminded.
    "All anniversaries" means every commemoration; "Only 16 December" means the massacre.
    """
    return [
        card
        for card in cards
        if card.kind == "anniversary"
        and card.commemorated
        and card.anniversary_day
        and (chat.topics == "all" or card.id == MASSACRE_CARD)
    ]


def _cards_by_day(cards: Iterable[Card]) -> dict[tuple[int, int], list[Card]]:
    index: dict[tuple[int, int], list[Card]] = {}
    for card in cards:
        if card.anniversary_day:
            index.setdefault(card.anniversary_day, []).append(card)
    return index


def _cards_on(day: date, index: dict[tuple[int, int], list[Card]]) -> list[Card]:
    found = list(index.get((day.month, day.day), ()))
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        found += index.get((2, 29), [])
    return [card for card in found if anniversary_in(card, day.year) == day]


def anniversary_key(card_id: str, year: int, lead: int) -> str:
    return f"a:{card_id}:{year}:{lead}"


def event_key(event_id: str, lead: int) -> str:
    return f"e:{event_id}:{lead}"


def event_due(event: ProtestEvent, lead: int, chat: ChatSettings) -> datetime | None:
    """When the ``lead``-days-before reminder of a protest reaches this chat, or None if
    there is no sensible time (a protest before 08:00 gets no same-day reminder)."""
    start = event_start(event)
    tz = zone(chat.timezone)
    day = start.astimezone(tz).date()
    due = local_time(day - timedelta(days=lead), delivery_hour(chat.hour), tz)
    if lead == 0:
        due = min(due, start - EVENT_SAME_DAY_MARGIN)
        due = max(due, local_time(day, QUIET_UNTIL, tz))
    return due if due < start else None


def _stands_alone(lead: int, due: datetime, hour: int, tz: ZoneInfo) -> bool:
    """A same-day protest reminder that its start time moves off the chat's hour."""
    return lead == 0 and due != local_time(due.astimezone(tz).date(), hour, tz)


def event_message_key(event: ProtestEvent, lead: int, chat: ChatSettings) -> str | None:
    """The delivery-log key of the message that carries this protest reminder to this chat
    (None if there is none): what a cancellation notice asks about."""
    due = event_due(event, lead, chat)
    if due is None:
        return None
    tz = zone(chat.timezone)
    if _stands_alone(lead, due, delivery_hour(chat.hour), tz):
        return event_key(event.id, lead)
    return day_key(due.astimezone(tz).date())


# Putting it together -----------------------------------------------------------------------

Profile = tuple[str, int, str, tuple[int, ...], tuple[str, ...]]
"""What decides when a chat hears: (zone, hour, topics, leads, cities). Thousands of chats
share one, so schedules are evaluated once per profile, not once per chat."""


def profile_of(chat: ChatSettings) -> Profile:
    return (chat.timezone, chat.hour, chat.topics, tuple(chat.leads), tuple(chat.cities))


def due_between(
    chats: Iterable[ChatSettings],
    cards: Iterable[Card],
    events: Iterable[ProtestEvent],
    start: datetime,
    end: datetime,
) -> list[Reminder]:
    """Every reminder with ``start < due <= end`` for these chats, earliest first."""
    groups: dict[Profile, tuple[ChatSettings, list[int]]] = {}
    for chat in chats:
        group = groups.setdefault(profile_of(chat), (chat, []))
        group[1].append(chat.chat_id)
    return due_for_groups(groups.values(), cards, events, start, end)


def due_for_groups(
    groups: Iterable[tuple[ChatSettings, Sequence[int]]],
    cards: Iterable[Card],
    events: Iterable[ProtestEvent],
    start: datetime,
    end: datetime,
) -> list[Reminder]:
    """``due_between`` for chats grouped by profile: each group's settings are evaluated once
    and the result is given to every chat id in it."""
    schedule = Schedule(cards, events, start, end)
    found: list[Reminder] = []
    for settings, chat_ids in groups:
        for r in schedule.due(settings):
            found.extend(
                Reminder(
                    r.key, chat_id, r.due, r.kind, r.subject_id, r.lead, r.day, r.timezone, r.alone
                )
                for chat_id in chat_ids
            )
    found.sort(key=lambda r: (r.due, r.chat_id, r.key))
    return found


def due_instants(
    profiles: Iterable[ChatSettings],
    cards: Iterable[Card],
    events: Iterable[ProtestEvent],
    start: datetime,
    end: datetime,
    news: Iterable[News] = (),
) -> set[datetime]:
    """The instants in ``(start, end]`` at which any of these profiles has a reminder due."""
    schedule = Schedule(cards, events, start, end, news)
    return {r.due for settings in profiles for r in schedule.due(settings)}


class Schedule:
    """The reminders of one window, for any chat settings; the indexes are built once."""

    def __init__(
        self,
        cards: Iterable[Card],
        events: Iterable[ProtestEvent],
        start: datetime,
        end: datetime,
        news: Iterable[News] = (),
    ) -> None:
        self.cards = list(cards)
        self.news = list(news)
        self.events = live_events(events, start)
        self.start, self.end = start, end
        # Two topic choices, so two indexes, built once for every chat.
        self.indexes = {
            topics: _cards_by_day(wanted_cards(ChatSettings(0, topics=topics), self.cards))
            for topics in ("all", "dec16")
        }

    def due(self, chat: ChatSettings) -> list[Reminder]:
        """Reminders (for a subscriber) and news of the cards it follows (for anyone)."""
        start, end = self.start, self.end
        tz = zone(chat.timezone)
        hour = delivery_hour(chat.hour)
        found = self._news_due(chat, tz, hour) if chat.follows else []
        if not chat.subscribed:
            return found
        leads = sorted({lead for lead in chat.leads if lead in LEAD_CHOICES}, reverse=True)
        index = self.indexes.get(chat.topics) or _cards_by_day(wanted_cards(chat, self.cards))
        send_day, last_day = start.astimezone(tz).date(), end.astimezone(tz).date()
        while index and send_day <= last_day:
            due = local_time(send_day, hour, tz)
            if start < due <= end:
                for lead in leads:
                    target = send_day + timedelta(days=lead)
                    found.extend(
                        Reminder(
                            anniversary_key(card.id, target.year, lead),
                            chat.chat_id,
                            due,
                            "anniversary",
                            card.id,
                            lead,
                            target,
                            chat.timezone,
                        )
                        for card in _cards_on(target, index)
                    )
            send_day += timedelta(days=1)
        for event in self.events:
            if not wants_event(chat, event):
                continue
            for lead in leads:
                when = event_due(event, lead, chat)
                if when is not None and start < when <= end:
                    day = event_start(event).astimezone(tz).date()
                    alone = _stands_alone(lead, when, hour, tz)
                    found.append(
                        Reminder(
                            event_key(event.id, lead),
                            chat.chat_id,
                            when,
                            "event",
                            event.id,
                            lead,
                            day,
                            chat.timezone,
                            alone,
                        )
                    )
        return found

    def _news_due(self, chat: ChatSettings, tz: ZoneInfo, hour: int) -> list[Reminder]:
        """News of the cards the chat follows, at the last of its hours in the window, if
        the bot had the news by then: a follower not told one day (the bot was down) is told
        the next, until ``TOLD_WITHIN``. Whether it was told already is the delivery log's
        (``plan_for_groups``)."""
        wanted = [item for item in self.news if item.card_id in chat.follows]
        if not wanted:
            return []
        day = self.end.astimezone(tz).date()
        due = local_time(day, hour, tz)
        if due > self.end:
            due = local_time(day - timedelta(days=1), hour, tz)
        if due <= self.start:
            return []
        return [
            Reminder(item.key, chat.chat_id, due, NEWS, item.card_id, 0, item.day, chat.timezone)
            for item in wanted
            if item.seen <= due < item.seen + TOLD_WITHIN
        ]


def next_reminder(
    chat: ChatSettings, cards: Iterable[Card], events: Iterable[ProtestEvent], now: datetime
) -> Reminder | None:
    """The next reminder this chat will get (for the confirmation after a change)."""
    upcoming = due_between([chat], cards, events, now, now + NEXT_SEARCH)
    return upcoming[0] if upcoming else None


def day_key(day: date) -> str:
    return f"d:{day.isoformat()}"


def message_key(reminder: Reminder) -> str:
    """The delivery-log key of the message this item goes out in: the chat's local day,
    or its own key for a protest's early same-day reminder."""
    if reminder.alone:
        return reminder.key
    return day_key(reminder.due.astimezone(zone(reminder.timezone)).date())


ITEM_KINDS = ("anniversary", "event", NEWS)


def _item_order(reminder: Reminder) -> tuple:
    """Anniversaries, then protests, then news; today's before tomorrow's, the massacre
    first."""
    return (
        ITEM_KINDS.index(reminder.kind),
        reminder.lead,
        reminder.subject_id != MASSACRE_CARD,
        reminder.day,
        reminder.subject_id,
    )


def digests(reminders: Iterable[Reminder]) -> list[Digest]:
    """The messages these items make: one per chat and local day (plus early same-day
    protest reminders), earliest first."""
    grouped: dict[tuple[int, str], list[Reminder]] = {}
    for reminder in reminders:
        grouped.setdefault((reminder.chat_id, message_key(reminder)), []).append(reminder)
    found = [
        Digest(
            key,
            chat_id,
            min(item.due for item in items),
            items[0].timezone,
            tuple(sorted(items, key=_item_order)),
        )
        for (chat_id, key), items in grouped.items()
    ]
    found.sort(key=lambda d: (d.due, d.chat_id, d.key))
    return found


def plan_for_groups(
    groups: Iterable[tuple[ChatSettings, Sequence[int]]],
    cards: Iterable[Card],
    events: Iterable[ProtestEvent],
    start: datetime,
    end: datetime,
    states_of: Callable[[str], dict[int, str]],
    now: datetime,
    news: Iterable[News] = (),
) -> SweepPlan:
    """``digests(due_for_groups(...))`` planned, without a per-chat object in between.

    Chats that share a profile share their messages, so each profile's messages and their
    timing (send, skip, wait for the morning) are worked out once; per chat only the
    delivery log is read, one whole occurrence table per message key (``states_of``) rather
    than a lookup per chat. With 100,000 subscribers this keeps a sweep's work, which runs in
    a worker thread, short enough not to starve the event loop of the GIL, and creates no
    garbage for the collector to stop everything over.

    News a chat was already told of (its own ``u:`` row says so, whatever day's message told
    it) is left out of that chat's message.
    """
    schedule = Schedule(cards, events, start, end, news)
    tables: dict[str, dict[int, str]] = {}
    plan = SweepPlan()

    def states_for(key: str) -> dict[int, str]:
        states = tables.get(key)
        if states is None:
            states = tables[key] = states_of(key)
        return states

    for settings, group in groups:
        due = schedule.due(settings)
        per_chat: list[tuple[Sequence[int], list[Reminder]]] = [(group, due)]
        if any(item.kind == NEWS for item in due):
            # Followers' messages are their own: each was told of different news.
            per_chat = [
                (
                    [chat_id],
                    [
                        item
                        for item in due
                        if item.kind != NEWS or states_for(item.key).get(chat_id) is None
                    ],
                )
                for chat_id in group
            ]
        for chat_ids, items in per_chat:
            _plan_messages(plan, digests(items), chat_ids, states_for, now)
    for found in (plan.send, plan.skip, plan.uncertain):
        found.sort(key=lambda m: (m.due, m.chat_id, m.key))
    return plan


def _plan_messages(
    plan: SweepPlan,
    templates: list[Digest],
    chat_ids: Sequence[int],
    states_for: Callable[[str], dict[int, str]],
    now: datetime,
) -> None:
    """``plan_for_groups`` for the messages one profile makes, given to each of its chats."""
    for template in templates:
        if template.due > now:
            continue
        states = states_for(template.key)
        tz = zone(template.timezone)
        fresh: list[Digest] | None  # where new messages go; None: wait for the morning
        if now - template.due >= CATCH_UP_LIMIT:
            fresh, morning = plan.skip, None
        elif in_quiet_hours(now, tz):
            morning = quiet_hours_end(now, tz)
            fresh = None if morning - template.due < CATCH_UP_LIMIT else plan.skip
        else:
            fresh, morning = plan.send, None
        for chat_id in chat_ids:
            state = states.get(chat_id)
            if state is not None and state != "pending":
                continue
            message = Digest(
                template.key, chat_id, template.due, template.timezone, template.items
            )
            if state == "pending":
                plan.uncertain.append(message)
            elif fresh is not None:
                fresh.append(message)
            else:
                assert morning is not None  # set whenever fresh is None
                plan.defer.append((message, morning))


def sweep_window(now: datetime, last_swept: datetime | None) -> tuple[datetime, datetime]:
    """(from, to) a sweep at ``now`` must look at.

    The last 12 hours are always re-examined (cheap, and it heals anything a crash left
    unsent); further back only what fell due since the previous sweep, to log it as skipped.
    """
    recent = now - CATCH_UP_LIMIT
    if last_swept is None or last_swept >= recent:
        return recent, now
    return max(last_swept, now - SKIP_LOOKBACK), now
