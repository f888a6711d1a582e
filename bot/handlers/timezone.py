"""/timezone and the panel's time zone buttons: a city, UTC, or a typed name ("Other…").

The only thing ever typed into the reminder settings is an unusual time zone name; that
prompt is a ConversationHandler (``zone_conversation``), so only its answer is read as one.
The conversation is per chat and user: in a group each admin who pressed "Other…" is asked,
and answers, on their own; nothing else is kept.
"""

from __future__ import annotations

from telegram import CallbackQuery, ForceReply, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot import callbacks, zones
from bot.content.cards import esc
from bot.context import BotContext
from bot.handlers import conversations
from bot.handlers.access import may_change_settings
from bot.handlers.panel import button, current, opens, panel_button, save, show_panel
from bot.handlers.replies import command_argument, reply
from bot.i18n import Translator
from bot.protests import model
from bot.reminders import choices
from bot.reminders.choices import city_label
from bot.zones import canonical_zone


async def timezone(update: Update, context: BotContext) -> None:
    """/timezone Europe/Vienna sets it at once; without a name, city buttons."""
    name = command_argument(context)
    if name:
        if await may_change_settings(update, context):
            await set_zone_from_text(update, context, name)
        return
    await show_zones(update, context, edit=False)


async def show_zones(update: Update, context: BotContext, *, edit: bool = True) -> None:
    tr = context.tr(update)
    text = esc(
        tr.gettext(
            "Choose the city whose time you live by, or press Other… and type a "
            "time zone name such as Asia/Tashkent or America/Chicago."
        )
    )
    await reply(update, context, text, zones_markup(tr), edit=edit)


def zones_markup(tr: Translator) -> InlineKeyboardMarkup:
    keys = list(zones.KNOWN_CITIES)
    rows = [
        [button(city_label(key, tr.language), "tz", key) for key in keys[i : i + 3]]
        for i in range(0, len(keys), 3)
    ]
    rows.append([button("UTC", "tz", "utc"), button(tr.gettext("Other…"), "tzother")])
    rows.append([button(tr.gettext("◂ Back"), "menu")])
    return InlineKeyboardMarkup(rows)


async def set_zone_from_text(update: Update, context: BotContext, text: str) -> None:
    tr = context.tr(update)
    key = model.city_key(text)
    by_name = {model.city_key(ru): key for key, (_zone, _en, ru) in zones.KNOWN_CITIES.items()}
    key = by_name.get(key, key)
    zone_name = zones.KNOWN_CITIES[key][0] if key in zones.KNOWN_CITIES else canonical_zone(text)
    if zone_name is None:
        await reply(
            update,
            context,
            esc(
                tr.gettext(
                    "I do not know the time zone “%(name)s”. Type a name such as Europe/Vienna or "
                    "Asia/Tashkent, or choose a city: /timezone"
                )
                % {"name": text[:64]}
            ),
        )
        return
    city = key if key in zones.KNOWN_CITIES else None
    await apply_zone(update, context, zone_name, city, edit=False)


async def apply_zone(
    update: Update, context: BotContext, zone_name: str, city: str | None, *, edit: bool
) -> None:
    tr = context.tr(update)
    settings = choices.with_zone(current(update, context, tr), zone_name, city)
    await save(context, settings)
    note = tr.gettext("Time zone saved: %(zone)s.") % {
        "zone": choices.zone_label(settings, tr.language, city)
    }
    await show_panel(update, context, settings, note, edit=edit)


# Buttons ----------------------------------------------------------------------------------

on_zones = opens(show_zones)
"""The panel's "Time zone" button."""


@panel_button
async def on_zone(
    update: Update, context: BotContext, query: CallbackQuery, data: callbacks.Callback
) -> None:
    """A city's button, or UTC."""
    chosen = choices.zone_button(data.args.get("arg"))
    if chosen is None:
        await query.answer()
        return
    await apply_zone(update, context, *chosen, edit=True)
    await query.answer(context.tr(update).gettext("Saved."))  # only once the zone is on disk


# "Other…": the typed name, a conversation ---------------------------------------------------


async def ask_for_zone(update: Update, context: BotContext) -> object:
    """ "Other…": ask for a zone name. In a group the prompt forces a reply from the admin who
    pressed (a selective ForceReply names them), since under privacy mode the bot sees only
    replies to its own messages."""
    query = update.callback_query
    user, chat = update.effective_user, update.effective_chat
    if (
        query is None
        or user is None
        or chat is None
        or not await may_change_settings(update, context)
    ):
        conversations.done()
    await query.answer()
    tr = context.tr(update)
    text = esc(
        tr.gettext("Type the time zone name, for example Asia/Tashkent or America/Chicago.")
    )
    if chat.type == ChatType.PRIVATE:
        await reply(update, context, text)
    else:
        await context.bot.send_message(
            chat.id,
            f"{user.mention_html()}, {text}",
            reply_markup=ForceReply(selective=True, input_field_placeholder="Asia/Tashkent"),
        )
    conversations.stay()


async def on_zone_text(update: Update, context: BotContext) -> object:
    """The answer of the one who pressed "Other…" (one try; the answer says how to try
    again)."""
    message = update.effective_message
    if message is not None and message.text and await may_change_settings(update, context):
        await set_zone_from_text(update, context, message.text)
    conversations.done()


def zone_conversation() -> ConversationHandler:
    # In groups only replies (to the ForceReply prompt): other chatter is never a zone name.
    answers = (
        filters.TEXT
        & ~filters.COMMAND
        & conversations.NEW_MESSAGES
        & (filters.ChatType.PRIVATE | filters.REPLY)
    )
    return conversations.conversation(
        "timezone",
        entry_points=[
            CallbackQueryHandler(
                ask_for_zone, pattern=callbacks.pattern(callbacks.SETTINGS, "tzother")
            )
        ],
        states={conversations.TYPING: [MessageHandler(answers, on_zone_text)]},
        timeout=conversations.SHORT_TIMEOUT,
    )
