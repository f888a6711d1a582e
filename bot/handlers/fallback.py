"""Everything no other handler took: free text, unknown commands, stickers and files.

Never silence and never a traceback: in a private chat every message gets an answer. In
groups the bot stays quiet unless it is addressed, so it never answers chatter.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.content.cards import esc
from bot.context import BotContext
from bot.handlers import cards
from bot.handlers.replies import MAX_QUERY, main_menu, reply


async def free_text(update: Update, context: BotContext) -> None:
    """Private text no flow took (``bot.handlers.conversations``): a greeting answered, else
    a search."""
    message = update.effective_message
    if message is None or not message.text:
        return
    query = message.text[:MAX_QUERY].strip()
    result = context.library.search(query)
    if result.intent or result.cards or result.nearest or result.suggestions:
        await cards.find_and_send(update, context, query, None, "p")
        return
    tr = context.tr(update)
    text = esc(
        tr.gettext(
            "I did not find a card for that. Type a name (for example Tuletaeva) or "
            "a date (16.12), or choose from the menu."
        )
    )
    await reply(update, context, text, main_menu(tr))


async def unknown_command(update: Update, context: BotContext) -> None:
    """An unknown command: in groups only if it was addressed to this bot."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or not message.text:
        return
    command = message.text.split()[0]
    if chat.type != ChatType.PRIVATE and not command.lower().endswith(
        "@" + context.bot_username.lower()
    ):
        return
    tr = context.tr(update)
    text = esc(
        tr.gettext("I don't know the command %(command)s. Here is what I can do:")
        % {"command": command[:40]}
    )
    await reply(
        update, context, text + "\n\n" + cards.help_text(tr, context.bot_username), main_menu(tr)
    )


async def other_message(update: Update, context: BotContext) -> None:
    """A sticker is a greeting; photos, files, voice: say what the bot understands (private
    chats only)."""
    message = update.effective_message
    if message is not None and message.sticker is not None:
        await cards.answer_intent(update, context, "greeting")
        return
    tr = context.tr(update)
    await reply(
        update,
        context,
        esc(tr.gettext("I can only read text. Type a name or a date, or choose from the menu.")),
        main_menu(tr),
    )
