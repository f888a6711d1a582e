"""The words of a reminder: one day's message to a chat, built from the items the schedule
(``bot.reminders.schedule``) found due. Kept apart from the schedule so that stays free of
Telegram and of the protests' texts (``bot.protests.repository``), which this module uses."""

from __future__ import annotations

import re
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.content.cards import MESSAGE_LIMIT, attr, esc
from bot.content.library import Library
from bot.content.schema import Card, CaseUpdate, ProtestEvent
from bot.i18n import Translator, translator
from bot.protests.model import nearby
from bot.protests.wording import reminder_markup, reminder_text, short_line
from bot.reminders.news import KIND as NEWS
from bot.reminders.schedule import Digest, Reminder
from bot.store.models import ChatSettings


def first_sentence(text: str, limit: int = 280) -> str:
    """ "One line of what happened": the summary's first sentence, kept short."""
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    sentence = match.group(1) if match else text
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def anniversary_text(
    tr: Translator, card: Card, reminder: Reminder, protests: list[ProtestEvent]
) -> str:
    """What day it is, how many years since, what happened, and protests near the chat."""
    _ = tr.gettext
    years = reminder.day.year - (card.year or reminder.day.year)
    day = tr.date(reminder.day)
    if reminder.lead == 0:
        when = _("Today, %(date)s.") % {"date": day}
        since = tr.ngettext("It is %(num)d year since.", "It is %(num)d years since.", years)
    else:
        when = (
            _("Tomorrow, %(date)s.") % {"date": day}
            if reminder.lead == 1
            else tr.ngettext(
                "In %(num)d day, on %(date)s.", "In %(num)d days, on %(date)s.", reminder.lead
            )
            % {"num": reminder.lead, "date": day}
        )
        since = tr.ngettext(
            "It will be %(num)d year since.", "It will be %(num)d years since.", years
        )
    lines = [
        f"{anniversary_mark(card)} <b>{esc(card.name.get(tr.language))}</b>",
        esc(f"{when} {since % {'num': years}}"),
        "",
        esc(first_sentence(card.summary.get(tr.language))),
    ]
    return "\n".join(lines) + protests_block(tr, protests)


def anniversary_mark(card: Card) -> str:
    """A mourning candle for a day that commemorates deaths, a calendar for any other date:
    a candle on an acquittal or a verdict reads as a funeral."""
    return "🕯" if card.mourning else "📅"


NEARBY_SHOWN = 3
"""Protests named under an anniversary reminder (those are told of it)."""


def protests_block(tr: Translator, protests: list[ProtestEvent]) -> str:
    """ "Protests near you", a few lines, for the end of a reminder ("" if none)."""
    if not protests:
        return ""
    heading = tr.gettext("Protests near you")  # outside the f-string, where Babel finds it
    lines = ["", "", f"<b>{esc(heading)}</b>"]
    lines += [f"• {esc(short_line(tr, event))}" for event in protests[:NEARBY_SHOWN]]
    return "\n".join(lines)


MAX_DIGEST_ITEMS = 8
"""Items in one day's message: each brings a row of buttons (Telegram allows 100 buttons),
and a reminder is read at a glance. More would be a page, not a reminder."""


def digest_message(
    tr: Translator,
    sections: list[tuple[str, list[InlineKeyboardButton]]],
    protests: list[ProtestEvent],
) -> tuple[str, InlineKeyboardMarkup]:
    """One message from several items (text and its row of buttons each), within
    Telegram's limits: items that do not fit are named in a last line, not sent later."""
    shown = sections[:MAX_DIGEST_ITEMS]
    while True:
        left = len(sections) - len(shown)
        more = (
            (
                "\n\n"
                + esc(
                    tr.ngettext(
                        "And %(num)d more: /anniversaries",
                        "And %(num)d more: /anniversaries",
                        left,
                    )
                    % {"num": left}
                )
            )
            if left
            else ""
        )
        text = "\n\n".join(body for body, _ in shown) + protests_block(tr, protests) + more
        if len(text) <= MESSAGE_LIMIT or len(shown) == 1:
            break
        shown = shown[:-1]
    return text, InlineKeyboardMarkup([row for _, row in shown if row])


def news_text(tr: Translator, card: Card, update: CaseUpdate, library: Library) -> str:
    """News in a case the chat follows: whose, when, what, and on what source."""
    _ = tr.gettext
    title = _("News: %(name)s") % {"name": card.name.get(tr.language)}
    sources = []
    for source_id in update.sources:
        source = library.sources.get(source_id)
        if source is None:
            continue
        name = esc(source.title)
        if source.url:
            name = f'<a href="{attr(source.url)}">{name}</a>'
        name = f"«{name}»" if tr.language == "ru" else f"“{name}”"
        sources.append(f"{esc(source.publication)}, {name}, {esc(tr.partial_date(source.date))}")
    label = _("Source:")
    return (
        f"🔔 <b>{esc(title)}</b>\n<b>{esc(tr.partial_date(update.date))}</b>: "
        f"{esc(update.get(tr.language))}\n\n<i>{esc(label)}</i> " + "; ".join(sources)
    )


def update_on(card: Card, reminder: Reminder) -> CaseUpdate | None:
    """The update a news item is about, if the card still has it."""
    return next(
        (update for update in card.updates if update.date == reminder.day.isoformat()), None
    )


def anniversary_markup(tr: Translator, card: Card) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    tr.gettext("Open the card"), callback_data=callbacks.build("card", card.id)
                )
            ]
        ]
    )


Words = tuple[str, InlineKeyboardMarkup | None, tuple[str, ...]]
"""A reminder's text, its buttons, and the ids of the protests it names."""


def reminder_words(
    message: Digest,
    chat: ChatSettings,
    library: Library,
    by_id: dict[str, ProtestEvent],
    events: list[ProtestEvent],
    texts: dict[tuple, Words],
) -> Words | None:
    """One day's message for one chat (its text, buttons and the protests it tells of), or
    None when nothing in it is still there; ``texts`` holds the texts composed this sweep,
    shared between chats in one language with the same items and protests nearby."""
    tr = translator(chat.language or "en")
    items: list[tuple[Reminder, Any]] = []
    for reminder in message.items:
        subject = (
            by_id.get(reminder.subject_id)
            if reminder.kind == "event"
            else library.get(reminder.subject_id)
        )
        if subject is not None and not (
            reminder.kind == NEWS
            and isinstance(subject, Card)
            and update_on(subject, reminder) is None
        ):
            items.append((reminder, subject))
    if not items:
        return None
    about = {reminder.subject_id for reminder, _ in items if reminder.kind == "event"}
    protests = (
        [event for event in nearby(events, chat, message.due) if event.id not in about]
        if any(reminder.kind == "anniversary" for reminder, _ in items)
        else []
    )
    key = (
        tuple((r.kind, r.subject_id, r.lead, r.day) for r, _ in items),
        tr.language,
        chat.timezone if about else None,
        tuple(event.id for event in protests),
    )
    if key not in texts:
        told = tuple(sorted(about | {event.id for event in protests[:NEARBY_SHOWN]}))
        texts[key] = (*_compose(tr, items, protests, chat.timezone, library), told)
    return texts[key]


def _compose(
    tr: Translator,
    items: list[tuple[Reminder, Any]],
    protests: list[ProtestEvent],
    timezone: str,
    library: Library,
) -> tuple[str, InlineKeyboardMarkup | None]:
    if len(items) == 1:
        reminder, subject = items[0]
        if reminder.kind == NEWS:
            update = update_on(subject, reminder)
            assert update is not None  # reminder_words keeps only news still on the card
            return news_text(tr, subject, update, library), anniversary_markup(tr, subject)
        if reminder.kind == "anniversary":
            return (
                anniversary_text(tr, subject, reminder, protests),
                anniversary_markup(tr, subject),
            )
        return (reminder_text(tr, subject, reminder.lead, timezone), reminder_markup(tr, subject))
    sections = []
    for reminder, subject in items:
        if reminder.kind == NEWS:
            update = update_on(subject, reminder)
            assert update is not None
            button = anniversary_markup(tr, subject).inline_keyboard[0][0]
            label = f"🔔 {subject.name.get(tr.language)}"
            sections.append(
                (
                    news_text(tr, subject, update, library),
                    [InlineKeyboardButton(label[:64], callback_data=button.callback_data)],
                )
            )
        elif reminder.kind == "anniversary":
            button = anniversary_markup(tr, subject).inline_keyboard[0][0]
            label = f"{anniversary_mark(subject)} {subject.name.get(tr.language)}"
            sections.append(
                (
                    anniversary_text(tr, subject, reminder, []),
                    [InlineKeyboardButton(label[:64], callback_data=button.callback_data)],
                )
            )
        else:
            sections.append(
                (
                    reminder_text(tr, subject, reminder.lead, timezone),
                    list(reminder_markup(tr, subject).inline_keyboard[0]),
                )
            )
    return digest_message(tr, sections, protests)
