"""Protest events: from content files and from /event_add, listed, cancelled, described.

Events from ``content/events/*.yaml`` come through the Library; events added by admins live
in the store. An admin's change to a content event (cancelling it) is stored under the same
id and wins, so a redeploy of the content never un-cancels a protest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.content.cards import attr, esc
from bot.content.library import Library
from bot.content.schema import SLUG_RE, ProtestEvent, Text
from bot.i18n import Translator
from bot.reminders.schedule import (
    LEAD_CHOICES,
    city_key,
    event_key,
    event_message_key,
    event_start,
    live_events,
    wants_event,
)
from bot.reminders.zones import zone
from bot.store.models import ChatSettings
from bot.store.repository import Store

EVENT_ACTION = callbacks.EVENT

NEARBY_WINDOW = timedelta(days=30)
"""Protests this close after a reminder are mentioned in it."""
MAX_LISTED = 10
MAX_FIELD = 200
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M")

KNOWN_CITIES = {
    # key: (IANA zone, English, Russian): the time zone buttons; the key is the city key.
    "london": ("Europe/London", "London", "Лондон"),
    "paris": ("Europe/Paris", "Paris", "Париж"),
    "brussels": ("Europe/Brussels", "Brussels", "Брюссель"),
    "berlin": ("Europe/Berlin", "Berlin", "Берлин"),
    "kyiv": ("Europe/Kyiv", "Kyiv", "Киев"),
    "moscow": ("Europe/Moscow", "Moscow", "Москва"),
    "almaty": ("Asia/Almaty", "Almaty", "Алматы"),
    "astana": ("Asia/Almaty", "Astana", "Астана"),
    "aktau": ("Asia/Aqtau", "Aktau", "Актау"),
    "new-york": ("America/New_York", "New York", "Нью-Йорк"),
}
CITY_NAMES = {
    # The same cities in the bot's further languages (any city missing here: in Russian).
    "kk": {"london": "Лондон", "paris": "Париж", "brussels": "Брюссель", "berlin": "Берлин",
           "kyiv": "Киев", "moscow": "Мәскеу", "almaty": "Алматы", "astana": "Астана",
           "aktau": "Ақтау", "new-york": "Нью-Йорк"},
}


def all_events(library: Library, store: Store) -> list[ProtestEvent]:
    """Every known event, content and admin-added, the stored version winning."""
    merged = dict(library.content_events)
    for document in store.events():
        event = ProtestEvent.model_validate(document)
        merged[event.id] = event
    return list(merged.values())


def find_event(library: Library, store: Store, event_id: str) -> ProtestEvent | None:
    return next((e for e in all_events(library, store) if e.id == event_id), None)


def upcoming(events: Iterable[ProtestEvent], now: datetime,
             chat: ChatSettings | None = None) -> list[ProtestEvent]:
    """Protests not yet started and not cancelled; the chat's own cities first."""
    def order(event: ProtestEvent) -> tuple[bool, datetime]:
        return (not (chat and wants_event(chat, event)), event_start(event))

    return sorted(live_events(events, now), key=order)


def nearby(events: Iterable[ProtestEvent], chat: ChatSettings, after: datetime,
           within: timedelta = NEARBY_WINDOW) -> list[ProtestEvent]:
    """Protests in the chat's cities in the weeks after ``after`` (for anniversary reminders)."""
    return sorted((e for e in live_events(events, after)
                   if wants_event(chat, e) and event_start(e) <= after + within),
                  key=event_start)


def known_cities(events: Iterable[ProtestEvent]) -> dict[str, Text]:
    return {city_key(e.city.en): e.city for e in events}


def new_event_id(city_en: str, starts_at: datetime, taken: Iterable[str]) -> str:
    """A readable slug such as ``almaty-2026-12-16``, made unique with a suffix."""
    base = (city_key(city_en)[:30] or "protest") + starts_at.strftime("-%Y-%m-%d")
    taken = set(taken)
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base}-{number}"
        number += 1
    if not re.match(SLUG_RE, candidate):
        raise ValueError(f"cannot make an event id from {city_en!r}")
    return candidate


# Reading what an organiser types ------------------------------------------------------------

def bilingual(text: str, limit: int = MAX_FIELD) -> dict[str, str] | None:
    english, _, russian = text.partition("/")
    english, russian = english.strip(), (russian.strip() or english.strip())
    if not english or len(english) > limit or len(russian) > limit:
        return None
    return {"en": english, "ru": russian}


def parse_city(text: str, known: Iterable[ProtestEvent]) -> dict[str, str] | None:
    """A city with an ASCII English name (it becomes the key subscribers choose); a city the
    bot knows may be typed in one language."""
    typed = text.strip()
    for key, (_zone, english, russian) in KNOWN_CITIES.items():
        if city_key(typed) == key or typed.casefold() == russian.casefold():
            return {"en": english, "ru": russian}
    for city_name in known_cities(known).values():
        if typed.casefold() in (city_name.en.casefold(), city_name.ru.casefold()):
            return city_name.model_dump()
    city = bilingual(typed, 60)
    return city if city and city_key(city["en"]) and city["en"].isascii() else None


def parse_starts(text: str) -> datetime | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None



async def save_event(store: Store, event: ProtestEvent) -> None:
    await store.put_event(event.model_dump(mode="json"))


async def cancel_event(library: Library, store: Store, event_id: str) -> ProtestEvent | None:
    """Mark the event cancelled (durably); None if there is no such upcoming event."""
    event = find_event(library, store, event_id)
    if event is None or event.cancelled:
        return None
    cancelled = event.model_copy(update={"cancelled": True})
    await save_event(store, cancelled)
    return cancelled


def reminded_chats(store: Store, event_id: str, event: ProtestEvent | None = None) -> list[int]:
    """Chats that got (or may have got) a reminder of this event: they need the cancellation.

    Reminders go out in one message a chat and day, logged by day: a chat was reminded if
    the message of a day that carried this protest went out. Rows of the older log, one per
    protest reminder, still count.
    """
    chats: set[int] = set()
    reached = ("sent", "uncertain")
    for lead in LEAD_CHOICES:
        rows = store.deliveries(event_key(event_id, lead))
        chats.update(chat_id for chat_id, state in rows.items() if state in reached)
    if event is None:
        return sorted(chats)
    city = city_key(event.city.en)
    for chat in store.all_chats():
        if chat.chat_id in chats or not ("*" in chat.cities or city in chat.cities):
            continue
        for lead in set(chat.leads) & set(LEAD_CHOICES):
            key = event_message_key(event, lead, chat)
            if key is not None and store.delivery(key, chat.chat_id) in reached:
                chats.add(chat.chat_id)
                break
    return sorted(chats)


# Text --------------------------------------------------------------------------------------

def when_line(tr: Translator, event: ProtestEvent, viewer_zone: str | None = None) -> str:
    """Local date and time at the venue, plus the viewer's own time if that differs."""
    local = event.starts_at
    text = tr.gettext("%(datetime)s, local time") % {"datetime": tr.datetime(local)}
    if viewer_zone and viewer_zone != event.timezone:
        own = event_start(event).astimezone(zone(viewer_zone))
        if own.replace(tzinfo=None) != local:
            text += " " + tr.gettext("(%(datetime)s your time)") % {
                "datetime": tr.datetime(own)}
    return text


def describe(tr: Translator, event: ProtestEvent, viewer_zone: str | None = None) -> str:
    """The event as HTML lines: what, when, where, who, link and note."""
    _ = tr.gettext
    lang = tr.language
    lines = [
        "<b>" + esc(_("Protest in %(city)s") % {"city": event.city.get(lang)}) + "</b>",
        "🕒 " + esc(when_line(tr, event, viewer_zone)),
        "📍 " + esc(f"{event.venue.get(lang)}, {event.address}"),
        "👥 " + esc(_("Organiser: %(name)s") % {"name": event.organiser.get(lang)}),
    ]
    if event.note:
        lines.append(esc(event.note.get(lang)))
    if event.link:
        label = _("More information")
        lines.append(f'<a href="{attr(event.link)}">{esc(label)}</a>')
    return "\n".join(lines)


def short_line(tr: Translator, event: ProtestEvent) -> str:
    """One line for lists and for the protests mentioned under an anniversary reminder."""
    lang = tr.language
    return (f"{tr.date(event.starts_at.date(), 'd MMM')}, "
            f"{event.starts_at:%H:%M} · {event.city.get(lang)} · {event.venue.get(lang)}")


def event_buttons(tr: Translator, event: ProtestEvent) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(tr.gettext("📅 Add to calendar"),
                                 callback_data=callbacks.build(EVENT_ACTION, "ics", event.id))]


def reminder_text(tr: Translator, event: ProtestEvent, lead: int, viewer_zone: str) -> str:
    _ = tr.gettext
    if lead == 0:
        head = _("Today:")
    elif lead == 1:
        head = _("Tomorrow:")
    else:
        head = tr.ngettext("In %(num)d day:", "In %(num)d days:", lead) % {"num": lead}
    return f"📣 <b>{esc(head)}</b>\n" + describe(tr, event, viewer_zone)


def reminder_markup(tr: Translator, event: ProtestEvent) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([event_buttons(tr, event)])


def cancellation_text(tr: Translator, event: ProtestEvent) -> str:
    _ = tr.gettext
    lang = tr.language
    text = _("Cancelled: the protest in %(city)s on %(datetime)s (%(venue)s) will not take "
             "place.") % {"city": event.city.get(lang), "datetime": tr.datetime(event.starts_at),
                          "venue": event.venue.get(lang)}
    return "❌ <b>" + esc(text) + "</b>"


def list_text(tr: Translator, events: list[ProtestEvent], viewer_zone: str | None) -> str:
    _ = tr.gettext
    if not events:
        return esc(_("No protests are announced at the moment. Subscribe to hear about new ones "
                     "in your city: /subscribe"))
    heading = _("Upcoming protests")
    blocks = [f"<b>{esc(heading)}</b>"]
    blocks += [describe(tr, event, viewer_zone) for event in events[:MAX_LISTED]]
    return "\n\n".join(blocks)


def list_markup(tr: Translator, events: list[ProtestEvent]) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton(
        "📅 " + short_line(tr, event)[:56],
        callback_data=callbacks.build(EVENT_ACTION, "ics", event.id))]
        for event in events[:MAX_LISTED]]
    return InlineKeyboardMarkup(rows) if rows else None
