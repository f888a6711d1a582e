"""Telegram glue: one module per intent, and below, the whole handler table in one place.

Read ``register_all`` top to bottom to see what answers an update: PTB tries the handlers of
each group in the order they were added and runs the first that matches (groups in ascending
order), so order matters, as in PTB's examples. Each kind of button has its own
``CallbackQueryHandler``, its pattern made by ``callbacks.pattern`` from the same format the
button is built with; tests/test_callbacks.py checks that every button any keyboard makes is
answered by exactly one of them, and that what none claims reaches the catch-all at the end.
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

from bot.callbacks import ADMIN, CHANNEL, EVENT, FOLLOW, SETTINGS, pattern
from bot.handlers import (
    admission,
    broadcast,
    cards,
    channels,
    conversations,
    corrections,
    errors,
    event_edit,
    event_message,
    fallback,
    follow,
    inline,
    language,
    organisers,
    panel,
    privacy,
    protests,
    reports,
    timezone,
)
from bot.handlers.replies import answered


def register_all(application: Application) -> None:
    """Every handler of the bot, in order (called when the Application is built)."""
    # First of all: edits are not answered again, and a sender or a group beyond a fair
    # share is dropped before any work is done (bot.telegram.fairness).
    admission.register(application)
    # Multi-step flows, each a ConversationHandler in a group of its own before group 0 (see
    # handlers.conversations); a command leaves them. Their buttons are in their states:
    # "Other…" time zone, "Report a correction" and its Cancel, and every button of the
    # organisers' forms and previews (Skip, a zone, Keep, Publish, Send, Cancel…).
    conversations.register(
        application,
        [
            timezone.zone_conversation(),  # "Other…" time zone: the typed name
            corrections.conversation(),  # "Report a correction": the reader's note
            organisers.event_conversation(),  # /event_add (organisers)
            event_edit.conversation(),  # /event_edit (organisers)
            event_message.conversation(),  # /event_message (organisers)
            broadcast.conversation(),  # /broadcast (organisers)
        ],
    )
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
    # A card or its next page, a list's page, the main menu's buttons, a language.
    add(CallbackQueryHandler(cards.open_card, pattern=pattern("card")))
    add(CallbackQueryHandler(cards.open_list, pattern=pattern("list")))
    add(CallbackQueryHandler(answered(cards.start), pattern=pattern("menu", "main")))
    add(CallbackQueryHandler(answered(cards.help_command), pattern=pattern("menu", "help")))
    add(CallbackQueryHandler(answered(cards.today), pattern=pattern("menu", "today")))
    add(CallbackQueryHandler(answered(language.language), pattern=pattern("menu", "language")))
    add(CallbackQueryHandler(answered(panel.settings), pattern=pattern("menu", "settings")))
    add(CallbackQueryHandler(language.on_language_button, pattern=pattern("lang")))

    # Reminder settings of this chat, and leaving: /forget deletes everything about it.
    add(CommandHandler("subscribe", panel.subscribe))
    add(CommandHandler("unsubscribe", panel.unsubscribe))
    add(CommandHandler("settings", panel.settings))
    add(CommandHandler("timezone", timezone.timezone))
    add(CommandHandler("privacy", privacy.privacy))
    add(CommandHandler("forget", panel.forget))
    # The panel's buttons (each checks who may change the chat's settings).
    add(CallbackQueryHandler(panel.on_subscription, pattern=pattern(SETTINGS, "sub", "unsub")))
    add(CallbackQueryHandler(panel.on_topic, pattern=pattern(SETTINGS, "topic")))
    add(CallbackQueryHandler(panel.on_lead, pattern=pattern(SETTINGS, "lead")))
    add(CallbackQueryHandler(panel.on_hours, pattern=pattern(SETTINGS, "hours")))
    add(CallbackQueryHandler(panel.on_hour, pattern=pattern(SETTINGS, "hour")))
    add(CallbackQueryHandler(timezone.on_zones, pattern=pattern(SETTINGS, "zones")))
    add(CallbackQueryHandler(timezone.on_zone, pattern=pattern(SETTINGS, "tz")))
    add(CallbackQueryHandler(panel.on_cities, pattern=pattern(SETTINGS, "cities")))
    add(CallbackQueryHandler(panel.on_city, pattern=pattern(SETTINGS, "city")))
    add(CallbackQueryHandler(panel.on_calendar, pattern=pattern(SETTINGS, "ics")))
    add(CallbackQueryHandler(panel.on_back, pattern=pattern(SETTINGS, "menu")))
    add(CallbackQueryHandler(panel.on_forget, pattern=pattern(SETTINGS, "forgetok")))
    # Following a case: the button under a card, and the list in the settings (admins only
    # in a group, as for the settings).
    add(CallbackQueryHandler(cards.on_follow, pattern=pattern(FOLLOW, "on", "off")))
    add(CallbackQueryHandler(follow.on_list, pattern=pattern(FOLLOW, "list")))
    add(CallbackQueryHandler(follow.on_stop, pattern=pattern(FOLLOW, "stop")))

    # Protests and calendar files.
    add(CommandHandler("calendar", protests.send_calendar))
    add(CommandHandler("protests", protests.show_protests))
    add(CallbackQueryHandler(protests.on_calendar_button, pattern=pattern(EVENT, "ics")))
    add(CallbackQueryHandler(protests.on_coming, pattern=pattern(EVENT, "come")))

    # A group became a supergroup: its settings move with it.
    add(MessageHandler(filters.StatusUpdate.MIGRATE, panel.on_migrated))

    # Campaign channels, set up from a private chat (each button asks Telegram whether the
    # person pressing administers the channel it names).
    add(CommandHandler("channel", channels.channel_command))
    add(CallbackQueryHandler(channels.on_zones, pattern=pattern(CHANNEL, "zones")))
    add(CallbackQueryHandler(channels.on_hours, pattern=pattern(CHANNEL, "hours")))
    add(CallbackQueryHandler(channels.on_forget, pattern=pattern(CHANNEL, "forget")))
    add(CallbackQueryHandler(channels.on_follows, pattern=pattern(CHANNEL, "follows")))
    add(CallbackQueryHandler(channels.on_follow, pattern=pattern(CHANNEL, "follow")))
    add(
        CallbackQueryHandler(
            channels.on_change,
            pattern=pattern(
                CHANNEL, "menu", "sub", "unsub", "lang", "topic", "lead", "tz", "hour"
            ),
        )
    )

    # Organisers (each handler and button checks BOT_ADMIN_IDS): /event_cancel and its
    # buttons, /stats, /backup (their flows, /event_add, /event_edit, /event_message and
    # /broadcast, are conversations above).
    add(CommandHandler("event_cancel", organisers.event_cancel))
    add(CommandHandler("stats", reports.stats))
    add(CommandHandler("backup", reports.backup))
    add(CallbackQueryHandler(organisers.on_cancel, pattern=pattern(ADMIN, "cancel")))
    add(CallbackQueryHandler(organisers.on_cancel_confirmed, pattern=pattern(ADMIN, "cancelok")))
    add(CallbackQueryHandler(organisers.on_keep_protest, pattern=pattern(ADMIN, "cancelno")))

    # Sharing: inline mode in any chat, and the bot's hello when added to a group.
    add(InlineQueryHandler(inline.inline_query))
    add(ChosenInlineResultHandler(inline.chosen_result))
    add(ChatMemberHandler(inline.added_to_group, ChatMemberHandler.MY_CHAT_MEMBER))

    # Fallbacks, last in group 0 so they only see what nothing above took (commands before
    # text; group chatter is ignored), then buttons nothing knows (stale or forged; an
    # organisers' button, whose flow is not open, refused for anyone but an organiser).
    private = filters.ChatType.PRIVATE
    add(MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, fallback.unknown_command))
    add(
        MessageHandler(
            private & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE,
            fallback.free_text,
        )
    )
    add(
        MessageHandler(
            private & ~filters.TEXT & ~filters.StatusUpdate.ALL & filters.UpdateType.MESSAGE,
            fallback.other_message,
        )
    )
    add(CallbackQueryHandler(organisers.refused_or_out_of_date))

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
