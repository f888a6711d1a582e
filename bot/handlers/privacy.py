"""/privacy: what the bot keeps about a chat and what it never keeps, in the reader's language
(the words are ``bot.privacy``)."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.handlers.replies import reply
from bot.privacy import privacy_text


async def privacy(update: Update, context: BotContext) -> None:
    """What is kept, how long, who sees it, and how /forget removes it."""
    await reply(update, context, privacy_text(context.tr(update)))
