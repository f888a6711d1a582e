"""'Report a correction': the reader's note goes to the admins with the card id; nothing is
stored (the pending state lives in memory only and is cleared once the note is passed on).

A conversation (``bot.handlers.conversations``): it ends after ten quiet minutes or at any command,
so a reader who moves on and later types a name gets the card, not "passed to the editors".
One note per reader every few minutes, so nobody can flood the editors or the send budget.
"""

from __future__ import annotations

import logging
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.helpers import create_deep_linked_url

from bot import callbacks
from bot.content.cards import esc
from bot.context import BotContext
from bot.handlers import conversations
from bot.handlers.replies import pressed, reply, stale_button
from bot.i18n import Translator

log = logging.getLogger(__name__)

MAX_CORRECTION = 3000
"""Leaves room for the header inside Telegram's 4096 characters."""
PAYLOAD_PREFIX = "fix-"
COOLDOWN = 5 * 60
"""Seconds between two notes from one reader."""


def cooling_down(context: BotContext) -> bool:
    return time.monotonic() - context.chat_state.last_correction < COOLDOWN


async def refuse_for_now(update: Update, context: BotContext) -> None:
    text = context.tr(update).gettext(
        "Thank you, your last note reached the editors a moment ago. Please wait a few "
        "minutes before sending another."
    )
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, context, esc(text))


async def ask_for_correction(update: Update, context: BotContext, card_id: str) -> bool:
    """Ask for the correction; in a group, send the reader to a private chat to write it.
    True if the bot now waits for the note."""
    tr = context.tr(update)
    card = context.library.get(card_id)
    query = update.callback_query
    chat = update.effective_chat
    if card is None or chat is None:
        await stale_button(update, context)
        return False
    if chat.type != ChatType.PRIVATE:
        if query:
            # Telegram lets a callback answer open the bot's private chat with a start payload.
            await query.answer(
                url=create_deep_linked_url(context.bot_username, PAYLOAD_PREFIX + card.id)
            )
        return False
    if cooling_down(context):
        await refuse_for_now(update, context)
        return False
    if query:
        await query.answer()
    context.chat_state.awaiting_correction_for = card.id
    text = tr.gettext(
        "What is wrong on the card “%(name)s”? Write it in one message, with a "
        "source if you have one. It goes to the editors; the bot keeps no copy."
    )
    await reply(
        update, context, esc(text % {"name": card.name.get(tr.language)}), cancel_markup(tr)
    )
    return True


def cancel_markup(tr: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(tr.gettext("Cancel"), callback_data=callbacks.build("fixno"))]]
    )


async def cancel_correction(update: Update, context: BotContext) -> None:
    context.chat_state.awaiting_correction_for = None
    tr = context.tr(update)
    if update.callback_query:
        await update.callback_query.answer(tr.gettext("Cancelled."))
    conversations.done()


async def pass_on_correction(update: Update, context: BotContext, text: str) -> None:
    """Forward the reader's note to every admin, then thank the reader."""
    card_id = context.chat_state.awaiting_correction_for
    context.chat_state.awaiting_correction_for = None
    if cooling_down(context):
        await refuse_for_now(update, context)
        return
    context.chat_state.last_correction = time.monotonic()
    tr = context.tr(update)
    note = (
        f"<b>Correction for card</b> <code>{esc(card_id or '?')}</code>\n\n"
        f"{esc(text[:MAX_CORRECTION])}"
    )
    delivered = 0
    for admin_id in sorted(context.config.admin_ids):
        try:
            await context.bot.send_message(admin_id, note)
            delivered += 1
        except TelegramError as exc:
            log.warning("could not pass a correction to an admin: %s", exc.__class__.__name__)
    if delivered:
        await reply(
            update,
            context,
            esc(tr.gettext("Thank you. Your note has been passed to the editors.")),
        )
    else:
        await reply(
            update,
            context,
            esc(tr.gettext("Sorry, no editor could be reached just now. Please try again later.")),
        )


# The conversation ----------------------------------------------------------------------------


async def on_fix_button(update: Update, context: BotContext) -> object:
    _query, button = pressed(update, context)
    waiting = await ask_for_correction(update, context, button.args["id"])
    if waiting:
        conversations.stay()
    conversations.done()


async def from_deep_link(update: Update, context: BotContext) -> object:
    """``/start fix-<card>``: a reader sent here from a group by the button."""
    payload = " ".join(context.args or [])
    card_id = payload.removeprefix(PAYLOAD_PREFIX)
    if context.library.get(card_id) is None:
        return ConversationHandler.END  # not a card: /start shows the welcome as usual
    if await ask_for_correction(update, context, card_id):
        conversations.stay()
    conversations.done()


async def on_note(update: Update, context: BotContext) -> object:
    message = update.effective_message
    if not context.chat_state.awaiting_correction_for or message is None or not message.text:
        return conversations.END  # its card was forgotten (/forget): ordinary text again
    await pass_on_correction(update, context, message.text)
    conversations.done()


def leave(_update: Update, context: BotContext) -> None:
    context.chat_state.awaiting_correction_for = None


def conversation() -> ConversationHandler:
    private = filters.ChatType.PRIVATE & conversations.NEW_MESSAGES
    deep_link_command = filters.Regex(rf"^/start(@\w+)? {PAYLOAD_PREFIX}")
    return conversations.conversation(
        "correction",
        entry_points=[
            CallbackQueryHandler(on_fix_button, pattern=callbacks.pattern("fix")),
            CommandHandler("start", from_deep_link, filters=private & deep_link_command),
        ],
        states={
            conversations.TYPING: [
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_note),
                CallbackQueryHandler(cancel_correction, pattern=callbacks.pattern("fixno")),
            ]
        },
        timeout=conversations.SHORT_TIMEOUT,
        leave=leave,
    )
