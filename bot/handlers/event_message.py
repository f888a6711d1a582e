"""/event_message: an organisers' message to the chats following one protest's city ("we
moved inside, it is raining"), in English and Russian, through the fan-out.

Pick the protest, type the English text, then the Russian (or Skip); the preview shows it as
it will arrive and how many chats it reaches. The text lives in the flow (memory), then in
the fan-out's record until the last chat has it; it is dropped with that record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import ConversationHandler

from bot.content.cards import esc
from bot.content.schema import ProtestEvent
from bot.context import BotContext
from bot.handlers.organisers import (
    allowed,
    button,
    cancel_markup,
    flow_conversation,
    open_flow,
    organiser_button,
    organiser_line,
    upcoming_named,
)
from bot.handlers.replies import reply
from bot.i18n import Translator, translator
from bot.protests import wording
from bot.reminders import service

MESSAGE_FLOW = "event_message"


async def event_message(update: Update, context: BotContext) -> None:
    """The upcoming protests, one button each: the message goes to that one's city."""
    if not await allowed(update, context):
        return
    tr = context.tr(update)
    listed = upcoming_named(context)
    if not listed:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest.")))
        return
    open_flow(update, context, MESSAGE_FLOW, step=None, text={})
    await reply(
        update,
        context,
        esc(
            tr.gettext(
                "Which protest is it about? The message goes to the chats following its city."
            )
        ),
        pick_markup(tr, listed),
    )


def pick_markup(tr: Translator, listed: list[ProtestEvent]) -> InlineKeyboardMarkup:
    rows = [[button(organiser_line(tr, e), "msgto", e.id)] for e in listed[:20]]
    rows.append([button(tr.gettext("Cancel"), "discard")])
    return InlineKeyboardMarkup(rows)


def _messaging(context: BotContext) -> dict | None:
    pending = context.chat_state.pending
    return pending if pending and pending.get("flow") == MESSAGE_FLOW else None


@organiser_button
async def on_pick(update: Update, context: BotContext, event_id: str | None) -> None:
    """The protest chosen: now the English text."""
    pending = _messaging(context)
    tr = context.tr(update)
    event = context.protests.find(event_id) if event_id else None
    if pending is None or event is None or event.cancelled:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest.")), edit=True)
        return
    pending.update(event=event.id, step="en", text={})
    await reply(
        update,
        context,
        esc(
            tr.gettext("Send the message in English, formatted as you want subscribers to see it.")
        ),
        cancel_markup(tr),
    )


async def on_text(update: Update, context: BotContext, message: Message) -> None:
    pending = _messaging(context)
    assert pending is not None
    tr = context.tr(update)
    if pending["step"] not in ("en", "ru"):
        await reply(update, context, esc(tr.gettext("Please press one of the protests above.")))
        return
    pending["text"][pending["step"]] = message.text_html
    if pending["step"] == "en":
        pending["step"] = "ru"
        await reply(
            update,
            context,
            esc(
                tr.gettext(
                    "Now the same message in Russian, or press Skip to send the English one to "
                    "everyone."
                )
            ),
            russian_step_markup(tr),
        )
        return
    await preview(update, context)


def russian_step_markup(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(tr.gettext("Skip"), "msskip"), button(tr.gettext("Cancel"), "discard")]]
    )


async def preview(update: Update, context: BotContext) -> None:
    """Each language's message as it will arrive, then "Send to N chats"."""
    pending = _messaging(context)
    assert pending is not None
    tr = context.tr(update)
    event = context.protests.find(pending["event"])
    chat = update.effective_chat
    if event is None or event.cancelled or chat is None:
        context.chat_state.pending = None
        await reply(update, context, esc(tr.gettext("There is no upcoming protest.")))
        return
    pending["step"] = "preview"
    for language, text in pending["text"].items():
        await context.bot.send_message(
            chat.id, wording.city_message(translator(language), event, text)
        )
    count = context.protests.city_followers(event)
    await reply(
        update,
        context,
        esc(tr.gettext("This is the preview. Send it?")),
        send_markup(tr, count, event),
    )


def send_markup(tr: Translator, count: int, event: ProtestEvent) -> InlineKeyboardMarkup:
    label = tr.ngettext(
        "Send to %(num)d chat following %(city)s",
        "Send to %(num)d chats following %(city)s",
        count,
    ) % {"num": count, "city": event.city.get(tr.language)}
    return InlineKeyboardMarkup(
        [[button(label[:60], "msok")], [button(tr.gettext("Cancel"), "discard")]]
    )


@organiser_button
async def on_skip(update: Update, context: BotContext, _arg: str | None) -> None:
    """No Russian text: the English one goes to everyone."""
    pending = _messaging(context)
    if pending is not None and pending["step"] == "ru":
        await preview(update, context)


@organiser_button
async def on_send(update: Update, context: BotContext, _arg: str | None) -> None:
    """ "Send": the fan-out starts, reporting in place of the preview, as /broadcast does."""
    tr = context.tr(update)
    pending = _messaging(context)
    reminder_service = service.service(context.application)
    chat = update.effective_chat
    event = (
        context.protests.find(pending["event"])
        if pending and pending.get("step") == "preview"
        else None
    )
    if pending is None or event is None or event.cancelled or reminder_service is None:
        await reply(update, context, esc(tr.gettext("Nothing to send.")), edit=True)
        return
    context.chat_state.pending = None
    progress = await reply(update, context, esc(tr.gettext("Sending…")), edit=True)
    key = f"m:{event.id}:" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    await reminder_service.fanouts.start_fanout(
        key,
        {
            "kind": "city",
            "event": event.id,
            "text": pending["text"],
            "total": context.protests.city_followers(event),
            "report_chat": chat.id if chat else None,
            "report_message": progress.message_id if progress else None,
            "report_language": tr.language,
        },
    )


def conversation() -> ConversationHandler:
    return flow_conversation(MESSAGE_FLOW, event_message, on_text)
