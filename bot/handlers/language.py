"""/language: English, Russian or Kazakh, remembered for the chat."""

from __future__ import annotations

import dataclasses

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.content.cards import esc
from bot.context import BotContext
from bot.handlers.access import may_change_settings
from bot.handlers.replies import main_menu, pressed, reply
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, translator
from bot.store.models import ChatSettings


async def language(update: Update, context: BotContext) -> None:
    """Offer the bot's languages as buttons."""
    tr = context.tr(update)
    await reply(
        update, context, esc(tr.gettext("Choose the language of the bot:")), language_markup()
    )


def language_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    LANGUAGE_NAMES[code], callback_data=callbacks.build("lang", code)
                )
                for code in LANGUAGES
            ]
        ]
    )


async def on_language_button(update: Update, context: BotContext) -> None:
    """``lang:<code>``, under /language."""
    _query, button = pressed(update, context)
    await set_language(update, context, button.args["code"])


async def set_language(update: Update, context: BotContext, code: str) -> None:
    chat = update.effective_chat
    query = update.callback_query
    if chat is None:  # a button under a message shared inline: no chat to set
        if query:
            await query.answer()
        return
    if not await may_change_settings(update, context):
        return
    settings = context.store.chat(chat.id) or ChatSettings(chat_id=chat.id, chat_type=chat.type)
    await context.store.put_chat(dataclasses.replace(settings, language=code))
    tr = translator(code)
    if query:
        await query.answer(tr.gettext("Language saved."))
    await reply(
        update, context, esc(tr.gettext("From now on I will answer in English.")), main_menu(tr)
    )
