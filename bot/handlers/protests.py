"""/protests and /calendar: upcoming protests, and .ics files for the user's calendar app."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import InputFile, Update

from bot.content.cards import esc
from bot.context import BotContext
from bot.handlers.replies import pressed, reply
from bot.protests import model, wording
from bot.protests.model import wants_event
from bot.reminders.calendar import CALENDAR_FILE, event_calendar, reminders_calendar


async def send_calendar(update: Update, context: BotContext) -> None:
    """The chat's anniversaries and its cities' protests, alarms at its own lead times."""
    chat = update.effective_chat
    assert chat is not None
    tr = context.tr(update)
    now = datetime.now(UTC)
    settings = context.store.chat(chat.id)
    every = context.protests.all()
    upcoming = model.upcoming(every, now, settings)
    if settings and settings.cities:
        upcoming = [e for e in upcoming if wants_event(settings, e)]
    data = reminders_calendar(
        tr, context.library.anniversaries(), upcoming, settings, context.bot_username, now
    )
    caption = tr.gettext(
        "Open this file to add the anniversaries and protests to your "
        "calendar, with alarms at your reminder times."
    )
    await context.bot.send_document(
        chat.id, InputFile(data, filename=CALENDAR_FILE), caption=esc(caption)
    )


async def show_protests(update: Update, context: BotContext) -> None:
    """Upcoming protests, the chat's own cities first, each with its own .ics button."""
    chat = update.effective_chat
    assert chat is not None
    tr = context.tr(update)
    settings = context.store.chat(chat.id)
    listed = model.upcoming(context.protests.all(), datetime.now(UTC), settings)
    zone_name = settings.timezone if settings else None
    await reply(
        update,
        context,
        wording.list_text(tr, listed, zone_name),
        wording.list_markup(tr, listed, zone_name),
    )


async def on_calendar_button(update: Update, context: BotContext) -> None:
    """One protest's .ics (a cancelled one too: it tells the calendar app to drop it)."""
    query, button = pressed(update, context)
    chat = update.effective_chat
    if chat is None:
        await query.answer()
        return
    tr = context.tr(update)
    event = context.protests.find(button.args.get("id", ""))
    if event is None:
        await query.answer(tr.gettext("This protest is no longer listed."))
        return
    await query.answer()
    ics = event_calendar(tr, event, context.store.chat(chat.id), datetime.now(UTC))
    await context.bot.send_document(
        chat.id,
        InputFile(ics, filename=f"{event.id}.ics"),
        caption=esc(wording.short_line(tr, event)),
    )


async def on_coming(update: Update, context: BotContext) -> None:
    """ "✋ I plan to come": counted once per person, pressed again taken back; the answer
    says the count. Only a keyed hash is kept (``bot.store.marks``), never who pressed."""
    query, button = pressed(update, context)
    tr = context.tr(update)
    event = context.protests.find(button.args.get("id", ""))
    if event is None or event not in model.upcoming([event], datetime.now(UTC)):
        await query.answer(tr.gettext("This protest is no longer upcoming."))
        return
    who = query.from_user.id
    coming = not context.store.marks.is_coming(event.id, who)
    count = await context.store.marks.set_coming(event.id, who, coming)
    said = (
        tr.gettext("Counted: thank you.")
        if coming
        else tr.gettext("Taken back: you are no longer counted.")
    )
    await query.answer(f"{said} {wording.coming_line(tr, count)}", show_alert=False)
