"""Card, list and menu buttons; anything unrecognised gets a polite 'out of date'."""

from __future__ import annotations

from telegram import Update

from bot import callbacks
from bot.context import BotContext
from bot.handlers import cards, language, settings
from bot.handlers.common import main_menu, reply, stale_button

CARD_ACTIONS = ("card", "list", "menu", "lang")
"""The correction buttons ("fix", "fixno") belong to its conversation (handlers.corrections)."""


async def on_button(update: Update, context: BotContext) -> None:
    """Route a card, list or menu button to what it shows."""
    query = update.callback_query
    assert query is not None
    parsed = callbacks.parse(query.data)
    if parsed is None:
        await stale_button(update, context)
        return
    if parsed.action == "card":
        card = context.library.get(parsed.args["id"])
        if card is None:
            await stale_button(update, context)
            return
        await query.answer()
        # Page turns edit in place; opening a card from a list sends a new message to keep the
        # list usable.
        await cards.send_card(
            update, context, card, parsed.int("page"), edit="page" in parsed.args
        )
    elif parsed.action == "list":
        await query.answer()
        await cards.send_list(update, context, parsed.args["kind"], parsed.int("page"), edit=True)
    elif parsed.action == "menu":
        await query.answer()
        await open_menu(update, context, parsed.args["name"])
    elif parsed.action == "lang":
        await language.set_language(update, context, parsed.args["code"])


async def open_menu(update: Update, context: BotContext, name: str) -> None:
    tr = context.tr(update)
    if name == "main":
        await cards.start(update, context)
    elif name == "help":
        await reply(update, context, cards.help_text(tr, context.bot_username), main_menu(tr))
    elif name == "today":
        await cards.today(update, context)
    elif name == "language":
        await language.language(update, context)
    elif name == "settings":
        await settings.settings(update, context)
