"""Telegram glue: each module owns one intent; ``register_all`` wires them in order."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import callbacks
from bot.handlers import (
    admin,
    buttons,
    cards,
    channels,
    corrections,
    errors,
    fallback,
    flows,
    language,
    settings,
    sharing,
)

log = logging.getLogger(__name__)

def register_all(application: Application) -> None:
    # Multi-step flows first, each in a group of its own before group 0 (see handlers.flows).
    flows.register(application, [settings.zone_conversation(), corrections.conversation(),
                                 *admin.conversations()])

    # Card commands (also answer /command@botname in groups: CommandHandler checks the name).
    application.add_handler(CommandHandler("start", cards.start))
    application.add_handler(CommandHandler("help", cards.help_command))
    application.add_handler(CommandHandler("prisoners", cards.prisoners))
    application.add_handler(CommandHandler("prisoner", cards.prisoner))
    application.add_handler(CommandHandler("anniversaries", cards.anniversaries))
    application.add_handler(CommandHandler("anniversary", cards.anniversary))
    application.add_handler(CommandHandler("today", cards.today))
    application.add_handler(CommandHandler("card", cards.card_command))
    application.add_handler(CommandHandler("language", language.language))

    # Card, list, menu and language buttons.
    application.add_handler(
        CallbackQueryHandler(
            buttons.on_button, pattern=callbacks.pattern_for(*buttons.CARD_ACTIONS)
        )
    )

    # Feature modules, each registering its own commands and buttons.
    settings.register(application)
    channels.register(application)
    admin.register(application)
    sharing.register(application)

    # Fallbacks, last in the same group so they only see what nothing above took
    # (order matters: commands before text; group chatter is ignored).
    private = filters.ChatType.PRIVATE
    application.add_handler(
        MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, fallback.unknown_command)
    )
    application.add_handler(
        MessageHandler(
            private & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE,
            fallback.free_text,
        )
    )
    application.add_handler(
        MessageHandler(
            private & ~filters.TEXT & ~filters.StatusUpdate.ALL & filters.UpdateType.MESSAGE,
            fallback.other_message,
        )
    )
    application.add_handler(CallbackQueryHandler(buttons.stale_button))
    application.add_error_handler(errors.on_error)


ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
    Update.CHOSEN_INLINE_RESULT,
    Update.MY_CHAT_MEMBER,
    Update.CHANNEL_POST,
]
