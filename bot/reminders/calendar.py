"""Calendar files (.ics): the anniversaries and protests in the user's own calendar app.

A calendar keeps reminding even if the bot goes away or the user leaves Telegram, so the
alarms follow the same lead times the user chose for the bot's messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from telegram.helpers import create_deep_linked_url

from bot.content.schema import Card, ProtestEvent
from bot.i18n import Translator
from bot.protests.model import event_start
from bot.reminders.schedule import LEAD_CHOICES, wanted_cards
from bot.reminders.texts import first_sentence
from bot.store.models import ChatSettings
from bot.zones import delivery_hour, zone

if TYPE_CHECKING:  # icalendar is imported when a calendar is made: 40 ms of every start
    from icalendar import Alarm, Calendar, Event

PRODUCT_ID = "-//Zhanaozen solidarity bot//EN"
UID_DOMAIN = "zhanaozen-bot"
CALENDAR_FILE = "zhanaozen-reminders.ics"
EVENT_SAME_DAY_ALARM = timedelta(hours=1)


def _calendar(tr: Translator, name: str) -> Calendar:
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    return calendar


def _alarm(description: str, trigger: timedelta) -> Alarm:
    from icalendar import Alarm

    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", description)
    alarm.add("trigger", trigger)
    return alarm


def _leads(chat: ChatSettings | None) -> list[int]:
    leads = chat.leads if chat else list(LEAD_CHOICES)
    return sorted({lead for lead in leads if lead in LEAD_CHOICES}, reverse=True)


def anniversary_event(
    tr: Translator,
    card: Card,
    chat: ChatSettings | None,
    bot_username: str | None,
    stamp: datetime,
) -> Event:
    """A yearly all-day event on the anniversary, alarms at the chat's delivery hour."""
    from icalendar import Event

    assert card.anniversary_day is not None and card.year is not None
    month, day = card.anniversary_day
    entry = Event()
    entry.add("uid", f"{card.id}@{UID_DOMAIN}")
    entry.add("dtstamp", stamp)
    entry.add("summary", f"{card.name.get(tr.language)} ({card.year})")
    entry.add("dtstart", date(card.year, month, day))
    entry.add("dtend", date(card.year, month, day) + timedelta(days=1))
    # 29 February: BYMONTHDAY=-1 gives the last day of February, 28th in common years.
    rule = (
        {"freq": "yearly", "bymonth": 2, "bymonthday": -1}
        if (month, day) == (2, 29)
        else {"freq": "yearly"}
    )
    entry.add("rrule", rule)
    entry.add("transp", "TRANSPARENT")
    description = first_sentence(card.summary.get(tr.language))
    if bot_username:
        link = create_deep_linked_url(bot_username, card.id)
        description += "\n" + link
        entry.add("url", link)
    entry.add("description", description)
    hour = delivery_hour(chat.hour if chat else 10)
    for lead in _leads(chat):
        # Relative to 00:00 on the day: "lead days before, at the delivery hour".
        entry.add_component(_alarm(card.name.get(tr.language), timedelta(days=-lead, hours=hour)))
    return entry


def protest_event(
    tr: Translator, event: ProtestEvent, chat: ChatSettings | None, stamp: datetime
) -> Event:
    from icalendar import Event

    lang = tr.language
    start = event_start(event).astimezone(zone(event.timezone))
    entry = Event()
    entry.add("uid", f"{event.id}@{UID_DOMAIN}")
    entry.add("sequence", event.sequence)  # raised by every change: the entry moves
    entry.add("dtstamp", stamp)
    summary = tr.gettext("Protest in %(city)s") % {"city": event.city.get(lang)}
    entry.add("summary", summary)
    entry.add("dtstart", start)
    entry.add("location", f"{event.venue.get(lang)}, {event.address}, {event.city.get(lang)}")
    lines = [tr.gettext("Organiser: %(name)s") % {"name": event.organiser.get(lang)}]
    if event.note:
        lines.append(event.note.get(lang))
    if event.link:
        lines.append(event.link)
        entry.add("url", event.link)
    entry.add("description", "\n".join(lines))
    entry.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    if not event.cancelled:
        for lead in _leads(chat):
            trigger = -timedelta(days=lead) if lead else -EVENT_SAME_DAY_ALARM
            entry.add_component(_alarm(summary, trigger))
    return entry


def reminders_calendar(
    tr: Translator,
    cards: Iterable[Card],
    protests: Iterable[ProtestEvent],
    chat: ChatSettings | None,
    bot_username: str | None,
    now: datetime,
) -> bytes:
    """The anniversaries the chat follows (all, if it has no settings) and the protests."""
    calendar = _calendar(tr, tr.gettext("Zhanaozen: anniversaries and protests"))
    chosen = wanted_cards(chat, cards) if chat else [c for c in cards if c.anniversary_day]
    for card in sorted(chosen, key=lambda c: c.anniversary_day or (0, 0)):
        calendar.add_component(anniversary_event(tr, card, chat, bot_username, now))
    for event in protests:
        calendar.add_component(protest_event(tr, event, chat, now))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def event_calendar(
    tr: Translator, event: ProtestEvent, chat: ChatSettings | None, now: datetime
) -> bytes:
    calendar = _calendar(
        tr, tr.gettext("Protest in %(city)s") % {"city": event.city.get(tr.language)}
    )
    calendar.add_component(protest_event(tr, event, chat, now))
    calendar.add_missing_timezones()
    return calendar.to_ical()
