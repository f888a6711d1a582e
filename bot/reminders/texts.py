"""The words of a reminder: one day's message to a chat, built from the items the schedule
(``bot.reminders.schedule``) found due. Kept apart from the schedule so that stays free of
Telegram and of the protests' texts (``bot.reminders.protests``), which this module uses."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.content.cards import MESSAGE_LIMIT, esc
from bot.content.schema import Card, ProtestEvent
from bot.i18n import Translator
from bot.reminders.protests import short_line
from bot.reminders.schedule import Reminder


def first_sentence(text: str, limit: int = 280) -> str:
    """"One line of what happened": the summary's first sentence, kept short."""
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    sentence = match.group(1) if match else text
    return sentence if len(sentence) <= limit else sentence[:limit - 1].rstrip() + "…"


def anniversary_text(tr: Translator, card: Card, reminder: Reminder,
                     protests: list[ProtestEvent]) -> str:
    """What day it is, how many years since, what happened, and protests near the chat."""
    _ = tr.gettext
    years = reminder.day.year - (card.year or reminder.day.year)
    day = tr.date(reminder.day)
    if reminder.lead == 0:
        when = _("Today, %(date)s.") % {"date": day}
        since = tr.ngettext("It is %(num)d year since.", "It is %(num)d years since.", years)
    else:
        when = (_("Tomorrow, %(date)s.") % {"date": day} if reminder.lead == 1 else
                tr.ngettext("In %(num)d day, on %(date)s.", "In %(num)d days, on %(date)s.",
                            reminder.lead) % {"num": reminder.lead, "date": day})
        since = tr.ngettext("It will be %(num)d year since.", "It will be %(num)d years since.",
                            years)
    lines = [f"{anniversary_mark(card)} <b>{esc(card.name.get(tr.language))}</b>",
             esc(f"{when} {since % {'num': years}}"), "",
             esc(first_sentence(card.summary.get(tr.language)))]
    return "\n".join(lines) + protests_block(tr, protests)


def anniversary_mark(card: Card) -> str:
    """A mourning candle for a day that commemorates deaths, a calendar for any other date:
    a candle on an acquittal or a verdict reads as a funeral."""
    return "🕯" if card.mourning else "📅"


def protests_block(tr: Translator, protests: list[ProtestEvent]) -> str:
    """"Protests near you", a few lines, for the end of a reminder ("" if none)."""
    if not protests:
        return ""
    heading = tr.gettext("Protests near you")  # outside the f-string, where Babel finds it
    lines = ["", "", f"<b>{esc(heading)}</b>"]
    lines += [f"• {esc(short_line(tr, event))}" for event in protests[:3]]
    return "\n".join(lines)


MAX_DIGEST_ITEMS = 8
"""Items in one day's message: each brings a row of buttons (Telegram allows 100 buttons),
and a reminder is read at a glance. More would be a page, not a reminder."""


def digest_message(tr: Translator, sections: list[tuple[str, list[InlineKeyboardButton]]],
                   protests: list[ProtestEvent]) -> tuple[str, InlineKeyboardMarkup]:
    """One message from several items (text and its row of buttons each), within
    Telegram's limits: items that do not fit are named in a last line, not sent later."""
    shown = sections[:MAX_DIGEST_ITEMS]
    while True:
        left = len(sections) - len(shown)
        more = ("\n\n" + esc(tr.ngettext("And %(num)d more: /anniversaries",
                                           "And %(num)d more: /anniversaries", left)
                              % {"num": left})) if left else ""
        text = "\n\n".join(body for body, _ in shown) + protests_block(tr, protests) + more
        if len(text) <= MESSAGE_LIMIT or len(shown) == 1:
            break
        shown = shown[:-1]
    return text, InlineKeyboardMarkup([row for _, row in shown if row])


def anniversary_markup(tr: Translator, card: Card) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        tr.gettext("Open the card"), callback_data=callbacks.build("card", card.id))]])
