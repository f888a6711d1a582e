"""Telegram glue: one module per intent, and below, the whole handler table in one place.

Read ``register_all`` top to bottom to see what answers an update: PTB tries the handlers of
each group in the order they were added and runs the first that matches (groups in ascending
order), so order matters, as in PTB's examples.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import callbacks
from bot.handlers import (
    admin,
    buttons,
    cards,
    channels,
    common,
    corrections,
    errors,
    fallback,
    flows,
    language,
    protests,
    settings,
    sharing,
)


def register_all(application: Application) -> None:
    """Every handler of the bot, in order (called when the Application is built)."""
    # Multi-step flows, each a ConversationHandler in a group of its own before group 0; a
    # command from the flow's user leaves it first (see handlers.flows).
    flows.register(application, [
        settings.zone_conversation(),  # "Other…" time zone: the typed name
        corrections.conversation(),  # "Report a correction": the reader's note
        *admin.conversations(),  # /event_add, /broadcast (organisers)
    ])
    add = application.add_handler

    # Cards (CommandHandler also takes /command@botname in groups, and checks the name).
    add(CommandHandler("start", cards.start))
    add(CommandHandler("help", cards.help_command))
    add(CommandHandler("prisoners", cards.prisoners))
    add(CommandHandler("prisoner", cards.prisoner))
    add(CommandHandler("anniversaries", cards.anniversaries))
    add(CommandHandler("anniversary", cards.anniversary))
    add(CommandHandler("today", cards.today))
    add(CommandHandler("card", cards.card_command))
    add(CommandHandler("language", language.language))
    # Card, list, menu and language buttons.
    add(CallbackQueryHandler(buttons.on_button,
                             pattern=callbacks.pattern_for(*buttons.CARD_ACTIONS)))

    # Reminder settings of this chat, and leaving: /forget deletes everything about it.
    add(CommandHandler("subscribe", settings.subscribe))
    add(CommandHandler("unsubscribe", settings.unsubscribe))
    add(CommandHandler("settings", settings.settings))
    add(CommandHandler("timezone", settings.timezone))
    add(CommandHandler("forget", settings.forget))
    add(CallbackQueryHandler(settings.on_button,
                             pattern=callbacks.pattern_for(callbacks.SETTINGS)))

    # Protests and calendar files.
    add(CommandHandler("calendar", protests.send_calendar))
    add(CommandHandler("protests", protests.show_protests))
    add(CallbackQueryHandler(protests.on_event_button,
                             pattern=callbacks.pattern_for(callbacks.EVENT)))

    # A group became a supergroup: its settings move with it.
    add(MessageHandler(filters.StatusUpdate.MIGRATE, settings.on_migrated))

    # Campaign channels, set up from a private chat.
    add(CommandHandler("channel", channels.channel_command))
    add(CallbackQueryHandler(channels.on_button,
                             pattern=callbacks.pattern_for(callbacks.CHANNEL)))

    # Organisers (each handler checks BOT_ADMIN_IDS).
    add(CommandHandler("event_cancel", admin.event_cancel))
    add(CommandHandler("stats", admin.stats))
    add(CommandHandler("backup", admin.backup))
    add(CallbackQueryHandler(admin.on_button, pattern=callbacks.pattern_for(callbacks.ADMIN)))

    # Sharing: inline mode in any chat, and the bot's hello when added to a group.
    add(InlineQueryHandler(sharing.inline_query))
    add(ChosenInlineResultHandler(sharing.chosen_result))
    add(ChatMemberHandler(sharing.added_to_group, ChatMemberHandler.MY_CHAT_MEMBER))

    # Fallbacks, last in group 0 so they only see what nothing above took (commands before
    # text; group chatter is ignored), then buttons nothing knows (stale or forged).
    private = filters.ChatType.PRIVATE
    add(MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, fallback.unknown_command))
    add(MessageHandler(private & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE,
                       fallback.free_text))
    add(MessageHandler(
        private & ~filters.TEXT & ~filters.StatusUpdate.ALL & filters.UpdateType.MESSAGE,
        fallback.other_message))
    add(CallbackQueryHandler(common.stale_button))

    # Errors: logged, the admins told, the user offered an apology.
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
