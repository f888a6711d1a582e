"""'Report a correction': the reader's note goes to the admins with the card id; nothing is
stored (the pending state lives in memory only and is cleared once the note is passed on)."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot import callbacks
from bot.cards import deep_link, esc
from bot.context import BotContext
from bot.handlers.common import reply

log = logging.getLogger(__name__)

MAX_CORRECTION = 3000
"""Leaves room for the header inside Telegram's 4096 characters."""
PAYLOAD_PREFIX = "fix-"


async def ask_for_correction(update: Update, context: BotContext, card_id: str) -> None:
    """Ask for the correction; in a group, send the reader to a private chat to write it."""
    tr = context.tr(update)
    card = context.library.get(card_id)
    query = update.callback_query
    chat = update.effective_chat
    if card is None or chat is None:
        if query:
            await query.answer(
                tr.gettext("This button is out of date. Send /start to begin again.")
            )
        return
    if chat.type != ChatType.PRIVATE:
        if query:
            # Telegram lets a callback answer open the bot's private chat with a start payload.
            await query.answer(url=deep_link(context.bot_username, PAYLOAD_PREFIX + card.id))
        return
    if query:
        await query.answer()
    context.chat_data.awaiting_correction_for = card.id
    text = tr.gettext(
        "What is wrong on the card “%(name)s”? Write it in one message, with a "
        "source if you have one. It goes to the editors; the bot keeps no copy."
    )
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(tr.gettext("Cancel"), callback_data=callbacks.build("fixno"))]]
    )
    await reply(update, context, esc(text % {"name": card.name.get(tr.language)}), markup)


async def cancel_correction(update: Update, context: BotContext) -> None:
    context.chat_data.awaiting_correction_for = None
    tr = context.tr(update)
    if update.callback_query:
        await update.callback_query.answer(tr.gettext("Cancelled."))


async def pass_on_correction(update: Update, context: BotContext, text: str) -> None:
    """Forward the reader's note to every admin, then thank the reader."""
    card_id = context.chat_data.awaiting_correction_for
    context.chat_data.awaiting_correction_for = None
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
