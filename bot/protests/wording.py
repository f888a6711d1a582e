"""How the bot words protests: descriptions, lists, reminders, change and cancellation
notices, and their buttons.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.content.cards import MESSAGE_LIMIT, attr, esc, visible_length
from bot.content.schema import ProtestEvent
from bot.i18n import Translator
from bot.protests.model import event_start
from bot.zones import zone

EVENT_ACTION = callbacks.EVENT

MAX_LISTED = 10

LIST_BUDGET = 4096 - 200
"""Characters of one /protests message (Telegram's 4,096, less room for the last line)."""


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


def city_message(tr: Translator, event: ProtestEvent, text: str) -> str:
    """An organiser's message to a protest's followers, under a line saying which protest
    (left out if the message alone fills Telegram's limit)."""
    head = f"📣 <b>{esc(short_line(tr, event))}</b>\n"
    return head + text if visible_length(head + text) <= MESSAGE_LIMIT else text


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
