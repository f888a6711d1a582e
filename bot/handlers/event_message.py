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
from bot.handlers import drafts
from bot.handlers.drafts import MessageDraft
from bot.handlers.organisers import (
    allowed,
    answer,
    button,
    cancel_button,
    cancel_markup,
    cancelled,
    choice,
    flow,
    organiser_line,
    upcoming_named,
)
from bot.handlers.replies import reply
from bot.i18n import Translator, translator
from bot.protests import wording
from bot.reminders import service

CANCEL = "msno"


async def event_message(update: Update, context: BotContext) -> bool:
    """The upcoming protests, one button each: the message goes to that one's city."""
    if not await allowed(update, context):
        return False
    tr = context.tr(update)
    listed = upcoming_named(context)
    if not listed:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest.")))
        return False
    drafts.start(update, context, MessageDraft())
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
    return True


def pick_markup(tr: Translator, listed: list[ProtestEvent]) -> InlineKeyboardMarkup:
    rows = [[button(organiser_line(tr, e), "msgto", e.id)] for e in listed[:20]]
    rows.append([cancel_button(tr, CANCEL)])
    return InlineKeyboardMarkup(rows)


async def on_pick(
    update: Update, context: BotContext, draft: MessageDraft, event_id: str | None
) -> bool:
    """The protest chosen: now the English text."""
    tr = context.tr(update)
    event = context.protests.find(event_id) if event_id else None
    if event is None or event.cancelled:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest.")), edit=True)
        return True
    draft.event_id, draft.step, draft.text = event.id, "en", {}
    await reply(
        update,
        context,
        esc(
            tr.gettext("Send the message in English, formatted as you want subscribers to see it.")
        ),
        cancel_markup(tr, CANCEL),
    )
    return True


async def on_text(
    update: Update, context: BotContext, draft: MessageDraft, message: Message
) -> bool:
    tr = context.tr(update)
    if draft.step not in ("en", "ru"):
        await reply(update, context, esc(tr.gettext("Please press one of the protests above.")))
        return True
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
    return await preview(update, context, draft)


def russian_step_markup(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(tr.gettext("Skip"), "msskip"), cancel_button(tr, CANCEL)]]
    )


async def preview(update: Update, context: BotContext, draft: MessageDraft) -> bool:
    """Each language's message as it will arrive, then "Send to N chats" (False: the protest
    is gone, and the flow with it)."""
    tr = context.tr(update)
    event = context.protests.find(draft.event_id) if draft.event_id else None
    chat = update.effective_chat
    if event is None or event.cancelled or chat is None:
        await reply(update, context, esc(tr.gettext("There is no upcoming protest.")))
        return False
    draft.step = "preview"
    for language, text in draft.text.items():
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
    return True


def send_markup(tr: Translator, count: int, event: ProtestEvent) -> InlineKeyboardMarkup:
    label = tr.ngettext(
        "Send to %(num)d chat following %(city)s",
        "Send to %(num)d chats following %(city)s",
        count,
    ) % {"num": count, "city": event.city.get(tr.language)}
    return InlineKeyboardMarkup([[button(label[:60], "msok")], [cancel_button(tr, CANCEL)]])


async def on_skip(
    update: Update, context: BotContext, draft: MessageDraft, _arg: str | None
) -> bool:
    """No Russian text: the English one goes to everyone."""
    if draft.step == "ru":
        return await preview(update, context, draft)
    return True


async def on_send(
    update: Update, context: BotContext, draft: MessageDraft, _arg: str | None
) -> bool:
    """ "Send": the fan-out starts, reporting in place of the preview, as /broadcast does."""
    tr = context.tr(update)
    reminder_service = service.service(context.application)
    chat = update.effective_chat
    event = (
        context.protests.find(draft.event_id)
        if draft.event_id and draft.step == "preview"
        else None
    )
    if event is None or event.cancelled or reminder_service is None:
        await reply(update, context, esc(tr.gettext("Nothing to send.")), edit=True)
        return True
    progress = await reply(update, context, esc(tr.gettext("Sending…")), edit=True)
    key = f"m:{event.id}:" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    await reminder_service.fanouts.start_fanout(
        key,
        {
            "kind": "city",
            "event": event.id,
            "text": draft.text,
            "total": context.protests.city_followers(event),
            "report_chat": chat.id if chat else None,
            "report_message": progress.message_id if progress else None,
            "report_language": tr.language,
        },
    )
    return False


def conversation() -> ConversationHandler:
    return flow(
        MessageDraft,
        event_message,
        [
            answer(MessageDraft, on_text),
            choice(MessageDraft, "msgto", on_pick),
            choice(MessageDraft, "msskip", on_skip),
            choice(MessageDraft, "msok", on_send),
            choice(MessageDraft, CANCEL, cancelled),
        ],
    )
