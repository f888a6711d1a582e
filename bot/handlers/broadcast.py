"""/broadcast: an organisers' message to every subscriber, in English and Russian.

The text is typed in two steps (a flow, ``handlers.organisers.flow``), shown as it
will arrive, and sent only after "Send to N subscribers"; the fan-out then runs as a
background job with a progress report in place of the button.
"""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import ConversationHandler

from bot.content.cards import MESSAGE_LIMIT, esc, visible_length
from bot.context import BotContext
from bot.handlers import drafts
from bot.handlers.drafts import BroadcastDraft
from bot.handlers.organisers import (
    allowed,
    answer,
    button,
    cancel_button,
    cancel_markup,
    cancelled,
    choice,
    flow,
)
from bot.handlers.replies import reply
from bot.i18n import Translator
from bot.reminders import service

CANCEL = "bcno"


async def broadcast(update: Update, context: BotContext) -> bool:
    if not await allowed(update, context):
        return False
    drafts.start(update, context, BroadcastDraft())
    tr = context.tr(update)
    await reply(
        update,
        context,
        esc(
            tr.gettext("Send the message in English, formatted as you want subscribers to see it.")
        ),
        cancel_markup(tr, CANCEL),
    )
    return True


async def on_broadcast_text(
    update: Update, context: BotContext, draft: BroadcastDraft, message: Message
) -> bool:
    tr = context.tr(update)
    draft.text[draft.step] = message.text_html
    if draft.step == "en":
        draft.step = "ru"
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
        return True
    await preview_broadcast(update, context, draft)
    return True


def russian_step_markup(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(tr.gettext("Skip"), "bcskip"), cancel_button(tr, CANCEL)]]
    )


async def preview_broadcast(update: Update, context: BotContext, draft: BroadcastDraft) -> None:
    tr = context.tr(update)
    texts = draft.text
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
    return InlineKeyboardMarkup([[button(label, "bcok"), cancel_button(tr, CANCEL)]])


async def on_skip(
    update: Update, context: BotContext, draft: BroadcastDraft, _arg: str | None
) -> bool:
    """No Russian text: the English one goes to everyone."""
    if draft.step == "ru":
        await preview_broadcast(update, context, draft)
    return True


async def on_send(
    update: Update, context: BotContext, draft: BroadcastDraft, _arg: str | None
) -> bool:
    """ "Send to N subscribers": the fan-out starts, reporting in place of the preview."""
    tr = context.tr(update)
    reminder_service = service.service(context.application)
    chat = update.effective_chat
    if not draft.text or reminder_service is None:
        await reply(update, context, esc(tr.gettext("Nothing to send.")), edit=True)
        return True
    progress = await reply(update, context, esc(tr.gettext("Sending…")), edit=True)
    key = "b:" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    await reminder_service.fanouts.start_fanout(
        key,
        {
            "kind": "broadcast",
            "text": draft.text,
            "report_chat": chat.id if chat else None,
            "report_message": progress.message_id if progress else None,
            "report_language": tr.language,
        },
    )
    return False


def conversation() -> ConversationHandler:
    return flow(
        BroadcastDraft,
        broadcast,
        [
            answer(BroadcastDraft, on_broadcast_text),
            choice(BroadcastDraft, "bcskip", on_skip),
            choice(BroadcastDraft, "bcok", on_send),
            choice(BroadcastDraft, CANCEL, cancelled),
        ],
    )
