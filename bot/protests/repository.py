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
from bot.content.cards import MESSAGE_LIMIT, attr, esc, visible_length
from bot.content.library import Library
from bot.content.schema import SLUG_RE, ProtestEvent, Text
from bot.i18n import Translator
from bot.reminders.schedule import (
    LEAD_CHOICES,
    city_key,
    event_due,
    event_key,
    event_message_key,
    event_start,
    live_events,
    wants_event,
)
from bot.store.models import ChatSettings
from bot.store.repository import Store
from bot.zones import zone

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
    "kk": {
        "london": "Лондон",
        "paris": "Париж",
        "brussels": "Брюссель",
        "berlin": "Берлин",
        "kyiv": "Киев",
        "moscow": "Мәскеу",
        "almaty": "Алматы",
        "astana": "Астана",
        "aktau": "Ақтау",
        "new-york": "Нью-Йорк",
    },
}


VERSIONS = "protests.versions"
"""Meta key: each protest's details as last seen and its sequence number (``versioned``)."""
TOLD_SINCE = "protests.told_since"
"""Meta key: when the bot began keeping told marks (older messages are judged by the log)."""


def all_events(library: Library, store: Store) -> list[ProtestEvent]:
    """Every known event, content and admin-added, the stored version winning, each with
    the sequence number its changes have reached."""
    merged = dict(library.content_events)
    for document in store.events():
        event = ProtestEvent.model_validate(document)
        merged[event.id] = event
    versions = store.meta(VERSIONS, {})
    return [
        event.model_copy(update={"sequence": versions[event.id]["s"]})
        if event.id in versions
        else event
        for event in merged.values()
    ]


def details(event: ProtestEvent) -> dict:
    """What subscribers are told of a protest: a change to any of it is a change notice."""
    return event.model_dump(mode="json", exclude={"cancelled", "sequence"})


def versioned(
    events: Iterable[ProtestEvent], versions: dict[str, dict]
) -> tuple[dict[str, dict], list[tuple[ProtestEvent, ProtestEvent]]]:
    """The versions map after seeing ``events``, and each (old, new) whose details changed.

    A protest's entry holds its details as last seen (``d``), whether it was cancelled
    (``c``) and its sequence (``s``), raised by every change or cancellation so calendar
    apps move the entry instead of adding a second one (RFC 5545, SEQUENCE).
    """
    updated = dict(versions)
    changed = []
    for event in events:
        now = {"d": details(event), "c": event.cancelled}
        seen = versions.get(event.id)
        if seen is None:
            updated[event.id] = {**now, "s": 0}
        elif (seen["d"], seen["c"]) != (now["d"], now["c"]):
            updated[event.id] = {**now, "s": seen["s"] + 1}
            if seen["d"] != now["d"] and not event.cancelled:
                old = ProtestEvent.model_validate({**seen["d"], "sequence": seen["s"]})
                changed.append((old, event.model_copy(update={"sequence": seen["s"] + 1})))
    return updated, changed


def find_event(library: Library, store: Store, event_id: str) -> ProtestEvent | None:
    return next((e for e in all_events(library, store) if e.id == event_id), None)


def upcoming(
    events: Iterable[ProtestEvent], now: datetime, chat: ChatSettings | None = None
) -> list[ProtestEvent]:
    """Protests not yet started and not cancelled; the chat's own cities first."""

    def order(event: ProtestEvent) -> tuple[bool, datetime]:
        return (not (chat and wants_event(chat, event)), event_start(event))

    return sorted(live_events(events, now), key=order)


def nearby(
    events: Iterable[ProtestEvent],
    chat: ChatSettings,
    after: datetime,
    within: timedelta = NEARBY_WINDOW,
) -> list[ProtestEvent]:
    """Protests in the chat's cities in the weeks after ``after`` (for anniversary reminders)."""
    return sorted(
        (
            e
            for e in live_events(events, after)
            if wants_event(chat, e) and event_start(e) <= after + within
        ),
        key=event_start,
    )


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
    """Chats told of this protest (or that may have been): they need its change or
    cancellation, and nobody else does.

    A message that names a protest marks it as told to the chat as it is logged
    (``Store.told_among``). Rows of the older log, one per protest reminder, still count;
    so do day messages due before the bot kept told marks, judged as before by the day.
    """
    chats: set[int] = set()
    reached = ("sent", "uncertain")
    for lead in LEAD_CHOICES:
        rows = store.deliveries(event_key(event_id, lead))
        chats.update(chat_id for chat_id, state in rows.items() if state in reached)
    everyone = list(store.all_chats())
    chats.update(store.told_among(event_id, (chat.chat_id for chat in everyone)))
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
                and store.delivery(key, chat.chat_id) in reached
            ):
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
            text += " " + tr.gettext("(%(datetime)s your time)") % {"datetime": tr.datetime(own)}
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


def coming_line(tr: Translator, count: int) -> str:
    """What the "I plan to come" button answers, and what organisers see by each protest."""
    return tr.ngettext("%(num)d person plans to come.", "%(num)d people plan to come.", count) % {
        "num": count
    }


def short_line(tr: Translator, event: ProtestEvent) -> str:
    """One line for lists and for the protests mentioned under an anniversary reminder."""
    lang = tr.language
    return (
        f"{tr.date(event.starts_at.date(), 'd MMM')}, "
        f"{event.starts_at:%H:%M} · {event.city.get(lang)} · {event.venue.get(lang)}"
    )


def coming_button(tr: Translator, event: ProtestEvent) -> InlineKeyboardButton:
    """ "I plan to come": pressed again, it takes it back (``handlers.protests.on_coming``)."""
    return InlineKeyboardButton(
        tr.gettext("✋ I plan to come"),
        callback_data=callbacks.build(EVENT_ACTION, "come", event.id),
    )


def event_buttons(tr: Translator, event: ProtestEvent) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            tr.gettext("📅 Add to calendar"),
            callback_data=callbacks.build(EVENT_ACTION, "ics", event.id),
        ),
        coming_button(tr, event),
    ]


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
    text = _(
        "Cancelled: the protest in %(city)s on %(datetime)s (%(venue)s) will not take place."
    ) % {
        "city": event.city.get(lang),
        "datetime": tr.datetime(event.starts_at),
        "venue": event.venue.get(lang),
    }
    return "❌ <b>" + esc(text) + "</b>"


def change_lines(tr: Translator, old: ProtestEvent, new: ProtestEvent) -> list[str]:
    """What changed, one HTML line each (old → new)."""
    _ = tr.gettext
    lang = tr.language

    def when(event: ProtestEvent) -> str:
        text = tr.datetime(event.starts_at)
        return f"{text} ({event.timezone})" if old.timezone != new.timezone else text

    def place(event: ProtestEvent) -> str:
        text = f"{event.venue.get(lang)}, {event.address}"
        return f"{text}, {event.city.get(lang)}" if old.city != new.city else text

    new_when = when(new)
    if old.starts_at.date() == new.starts_at.date() and old.timezone == new.timezone:
        new_when = f"{new.starts_at:%H:%M}"  # the same day: only the new time
    lines = []
    for mark, before, after in (
        ("🕒", when(old), new_when),
        ("📍", place(old), place(new)),
        ("👥", old.organiser.get(lang), new.organiser.get(lang)),
    ):
        if before != after:
            lines.append(f"{mark} {esc(before)} → <b>{esc(after)}</b>")
    if old.note != new.note:
        lines.append(
            "📝 " + (esc(new.note.get(lang)) if new.note else esc(_("The note was removed.")))
        )
    if old.link != new.link:
        lines.append(
            f'🔗 <a href="{attr(new.link)}">{esc(_("More information"))}</a>'
            if new.link
            else "🔗 " + esc(_("The link was removed."))
        )
    return lines


def change_text(tr: Translator, old: ProtestEvent, new: ProtestEvent) -> str:
    """The one notice a chat told of a protest gets when it changes."""
    head = tr.gettext("Changed: the protest in %(city)s") % {"city": old.city.get(tr.language)}
    return "\n".join(["✏️ <b>" + esc(head) + "</b>", *change_lines(tr, old, new)])


def city_followers(store: Store, event: ProtestEvent) -> int:
    """How many subscribed chats follow the protest's city (an organiser's message's reach)."""
    return sum(1 for chat in store.all_chats() if chat.subscribed and wants_event(chat, event))


def city_message(tr: Translator, event: ProtestEvent, text: str) -> str:
    """An organiser's message to a protest's followers, under a line saying which protest
    (left out if the message alone fills Telegram's limit)."""
    head = f"📣 <b>{esc(short_line(tr, event))}</b>\n"
    return head + text if visible_length(head + text) <= MESSAGE_LIMIT else text


LIST_BUDGET = 4096 - 200
"""Characters of one /protests message (Telegram's 4,096, less room for the last line)."""


def listed(
    tr: Translator, events: list[ProtestEvent], viewer_zone: str | None
) -> list[ProtestEvent]:
    """The protests one /protests message shows: the first ``MAX_LISTED`` that fit in
    Telegram's limit, whatever their lengths, the viewer's zone and the language."""
    shown: list[ProtestEvent] = []
    used = visible_length(esc(tr.gettext("Upcoming protests")))
    for event in events[:MAX_LISTED]:
        used += 2 + visible_length(describe(tr, event, viewer_zone))
        if used > LIST_BUDGET and shown:
            break
        shown.append(event)
    return shown


def list_text(tr: Translator, events: list[ProtestEvent], viewer_zone: str | None) -> str:
    _ = tr.gettext
    if not events:
        return esc(
            _(
                "No protests are announced at the moment. Subscribe to hear about new ones "
                "in your city: /subscribe"
            )
        )
    heading = _("Upcoming protests")
    shown = listed(tr, events, viewer_zone)
    blocks = [f"<b>{esc(heading)}</b>"]
    blocks += [describe(tr, event, viewer_zone) for event in shown]
    if left := len(events) - len(shown):
        blocks.append(
            esc(
                tr.ngettext(
                    "And %(num)d more. Choose your cities in /settings to see those near you "
                    "first.",
                    "And %(num)d more. Choose your cities in /settings to see those near you "
                    "first.",
                    left,
                )
                % {"num": left}
            )
        )
    return "\n\n".join(blocks)


def list_markup(
    tr: Translator, events: list[ProtestEvent], viewer_zone: str | None = None
) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                "📅 " + short_line(tr, event)[:56],
                callback_data=callbacks.build(EVENT_ACTION, "ics", event.id),
            ),
            coming_button(tr, event),
        ]
        for event in listed(tr, events, viewer_zone)
    ]
    return InlineKeyboardMarkup(rows) if rows else None
