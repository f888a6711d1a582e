"""/broadcast: an organisers' message to every subscriber, in English and Russian.

The text is typed in two steps (a flow, ``handlers.organisers.flow_conversation``), shown as it
will arrive, and sent only after "Send to N subscribers"; the fan-out then runs as a
background job with a progress report in place of the button.
"""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import ConversationHandler

from bot.content.cards import MESSAGE_LIMIT, esc, visible_length
from bot.context import BotContext
from bot.handlers.organisers import (
    allowed,
    button,
    cancel_markup,
    flow_conversation,
    open_flow,
    organiser_button,
)
from bot.handlers.replies import reply
from bot.i18n import Translator
from bot.reminders import service

BROADCAST_FLOW = "broadcast"


async def broadcast(update: Update, context: BotContext) -> None:
    if not await allowed(update, context):
        return
    open_flow(update, context, BROADCAST_FLOW, step="en", text={})
    tr = context.tr(update)
    await reply(
        update,
        context,
        esc(
            tr.gettext("Send the message in English, formatted as you want subscribers to see it.")
        ),
        cancel_markup(tr),
    )


async def on_broadcast_text(update: Update, context: BotContext, message: Message) -> None:
    tr = context.tr(update)
    pending = context.chat_state.pending
    assert pending is not None
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
    await preview_broadcast(update, context)


def russian_step_markup(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(tr.gettext("Skip"), "bcskip"), button(tr.gettext("Cancel"), "discard")]]
    )


async def preview_broadcast(update: Update, context: BotContext) -> None:
    tr = context.tr(update)
    pending = context.chat_state.pending
    assert pending is not None
    texts = pending["text"]
    chat = update.effective_chat
    assert chat is not None
    for language, text in texts.items():
        label = f"<b>[{language}]</b>\n"
        if visible_length(label + text) > MESSAGE_LIMIT:  # a message at the limit: no room
            label = ""
        await context.bot.send_message(chat.id, label + text)
    count = context.store.subscriber_count()
    await reply(
        update, context, esc(tr.gettext("This is the preview. Send it?")), send_markup(tr, count)
    )


def send_markup(tr: Translator, count: int) -> InlineKeyboardMarkup:
    label = tr.ngettext("Send to %(num)d subscriber", "Send to %(num)d subscribers", count) % {
        "num": count
    }
    return InlineKeyboardMarkup([[button(label, "bcok"), button(tr.gettext("Cancel"), "discard")]])


@organiser_button
async def on_skip(update: Update, context: BotContext, _arg: str | None) -> None:
    """No Russian text: the English one goes to everyone."""
    pending = context.chat_state.pending or {}
    if pending.get("flow") == BROADCAST_FLOW and pending["step"] == "ru":
        await preview_broadcast(update, context)


@organiser_button
async def on_send(update: Update, context: BotContext, _arg: str | None) -> None:
    """ "Send to N subscribers": the fan-out starts, reporting in place of the preview."""
    tr = context.tr(update)
    pending = context.chat_state.pending or {}
    reminder_service = service.service(context.application)
    chat = update.effective_chat
    if (
        pending.get("flow") != BROADCAST_FLOW
        or not pending.get("text")
        or reminder_service is None
    ):
        await reply(update, context, esc(tr.gettext("Nothing to send.")), edit=True)
        return
    context.chat_state.pending = None
    progress = await reply(update, context, esc(tr.gettext("Sending…")), edit=True)
    key = "b:" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    await reminder_service.fanouts.start_fanout(
        key,
        {
            "kind": "broadcast",
            "text": pending["text"],
            "report_chat": chat.id if chat else None,
            "report_message": progress.message_id if progress else None,
            "report_language": tr.language,
        },
    )


def conversation() -> ConversationHandler:
    return flow_conversation(BROADCAST_FLOW, broadcast, on_broadcast_text)
