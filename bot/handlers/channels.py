"""Campaign channels: reminders and broadcasts posted to a Telegram channel, set up in private.

A channel cannot press buttons, and its subscribers should never see a settings panel, so an
administrator of the channel sets it up from their private chat with the bot: ``/channel
@name`` opens a panel there for that channel (subscription, language, anniversaries, lead
times, time zone, hour). The channel's id travels in the buttons' callback data, which a
client can forge: that is why every change asks Telegram again (getChatMember) that the
person pressing is an administrator of that channel and that the bot may post there.
Nothing about the person is stored; the channel is stored like any chat (id, type, choices).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable

from telegram import CallbackQuery, Chat, ChatFullInfo, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot import callbacks, zones
from bot.content.cards import esc, shorten
from bot.content.library import Library
from bot.content.schema import Card
from bot.context import BotContext
from bot.handlers.panel import LEAD_BUTTONS, forgotten_text, panel_text
from bot.handlers.replies import Handler, action_button, command_argument, pressed, reply
from bot.i18n import N_, Translator
from bot.reminders import choices, service
from bot.reminders.choices import LANGUAGE_NAMES, city_label
from bot.reminders.schedule import LEAD_CHOICES
from bot.store.models import ChatSettings
from bot.zones import DELIVERY_HOURS, delivery_hour

log = logging.getLogger(__name__)

ACTION = callbacks.CHANNEL
ADMIN_STATUSES = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
_REFERENCE_RE = re.compile(
    r"^(?:https?://)?(?:t\.me/|telegram\.me/)?@?([A-Za-z][A-Za-z0-9_]{3,31})$"
)
_ID_RE = re.compile(r"^-100\d{1,16}$")
NOT_ADMIN = N_("Only the channel's administrators can change its reminders.")


def channel_reference(text: str) -> str | int | None:
    """What the user typed (@name, t.me/name, name or -100… id) as getChat takes it."""
    text = text.strip()
    if _ID_RE.match(text):
        return int(text)
    match = _REFERENCE_RE.match(text)
    return f"@{match.group(1)}" if match else None


async def refusal(context: BotContext, channel_id: int, user_id: int) -> str | None:
    """Why this user may not set up this channel now (None: they may). Asked of Telegram
    every time: admin lists change, and a stored answer would let a former admin in."""
    bot = context.bot
    try:
        member = await bot.get_chat_member(channel_id, user_id)
        mine = await bot.get_chat_member(channel_id, bot.id)
    except TelegramError:
        return N_("I cannot see that channel. Add me to it as an administrator first.")
    if member.status not in ADMIN_STATUSES:
        return NOT_ADMIN
    if mine.status not in ADMIN_STATUSES or getattr(mine, "can_post_messages", None) is False:
        return N_(
            "I am not an administrator of that channel who may post messages. Add me "
            "as one, then try again."
        )
    return None


# The panel, in the private chat ---------------------------------------------------------

_button = functools.partial(action_button, ACTION)
"""``_button(label, op, channel_id[, arg])``: a button of a channel's panel."""


def channel_panel_text(
    tr: Translator,
    context: BotContext,
    title: str,
    settings: ChatSettings,
    note: str | None = None,
) -> str:
    heading = tr.gettext("Channel: %(title)s") % {"title": title}
    language = tr.gettext("Language of its posts: %(language)s") % {
        "language": LANGUAGE_NAMES.get(settings.language or "en", "English")
    }
    return f"<b>{esc(heading)}</b>\n{esc(language)}\n\n" + panel_text(tr, context, settings, note)


def channel_panel_markup(tr: Translator, settings: ChatSettings) -> InlineKeyboardMarkup:
    _ = tr.gettext
    chat_id = settings.chat_id

    def mark(on: bool, label: str) -> str:
        return ("✓ " if on else "○ ") + label

    subscription = (
        _button(_("🔕 Unsubscribe"), "unsub", chat_id)
        if settings.subscribed
        else _button(_("🔔 Subscribe"), "sub", chat_id)
    )
    language = settings.language or "en"
    return InlineKeyboardMarkup(
        [
            [subscription],
            [
                _button(mark(language == code, name), "lang", chat_id, code)
                for code, name in LANGUAGE_NAMES.items()
            ],
            [
                _button(
                    mark(settings.topics == "all", _("All anniversaries")), "topic", chat_id, "all"
                ),
                _button(
                    mark(settings.topics == "dec16", _("Only 16 December")),
                    "topic",
                    chat_id,
                    "dec16",
                ),
            ],
            [
                _button(mark(lead in settings.leads, _(LEAD_BUTTONS[lead])), "lead", chat_id, lead)
                for lead in LEAD_CHOICES
            ],
            [
                _button(_("🕒 Time zone"), "zones", chat_id),
                _button(
                    _("⏰ %(hour)02d:00") % {"hour": delivery_hour(settings.hour)},
                    "hours",
                    chat_id,
                ),
            ],
            [
                _button(
                    _("🔔 Cases it follows: %(num)d") % {"num": len(settings.follows)},
                    "follows",
                    chat_id,
                )
            ],
            [_button(_("🗑 Forget this channel"), "forget", chat_id)],
        ]
    )


# Following cases, for a channel ---------------------------------------------------------
# The channel's id takes most of a button's 64 bytes, so a card travels as a short digest
# of its id (``follow_tag``), looked up again among the cards when pressed.

FOLLOW_PAGE = 8
"""Cards per page of a channel's case picker."""


def follow_tag(card_id: str) -> str:
    return hashlib.sha256(card_id.encode()).hexdigest()[:10]


def followable(library: Library) -> list[Card]:
    """The cards a channel can follow, in the lists' order: people, then anniversaries."""
    return [*library.people(), *library.anniversaries()]


def follows_markup(
    tr: Translator, library: Library, settings: ChatSettings, page: int
) -> InlineKeyboardMarkup:
    """A page of every card, each ✓ (followed) or ○, a press switching it."""
    cards = followable(library)
    pages = max(1, -(-len(cards) // FOLLOW_PAGE))
    page = max(0, min(page, pages - 1))
    chat_id = settings.chat_id
    rows = [
        [
            _button(
                ("✓ " if card.id in settings.follows else "○ ")
                + shorten(card.name.get(tr.language), 40),
                "follow",
                chat_id,
                f"{page}-{follow_tag(card.id)}",
            )
        ]
        for card in cards[page * FOLLOW_PAGE : (page + 1) * FOLLOW_PAGE]
    ]
    nav = []
    if page > 0:
        nav.append(_button(f"◂ {page}/{pages}", "follows", chat_id, page - 1))
    if page < pages - 1:
        nav.append(_button(f"{page + 2}/{pages} ▸", "follows", chat_id, page + 1))
    rows += [nav] if nav else []
    rows.append([_button(tr.gettext("◂ Back"), "menu", chat_id)])
    return InlineKeyboardMarkup(rows)


def follows_text(tr: Translator, title: str) -> str:
    heading = tr.gettext("Channel: %(title)s") % {"title": title}
    return f"<b>{esc(heading)}</b>\n" + esc(
        tr.gettext(
            "The cases the channel follows: we post news in them there, at its reminder hour. "
            "Press a case to follow it or to stop."
        )
    )


def zones_markup(tr: Translator, chat_id: int) -> InlineKeyboardMarkup:
    keys = list(zones.KNOWN_CITIES)
    rows = [
        [_button(city_label(key, tr.language), "tz", chat_id, key) for key in keys[i : i + 3]]
        for i in range(0, len(keys), 3)
    ]
    rows.append(
        [_button("UTC", "tz", chat_id, "utc"), _button(tr.gettext("◂ Back"), "menu", chat_id)]
    )
    return InlineKeyboardMarkup(rows)


def hours_markup(tr: Translator, chat_id: int) -> InlineKeyboardMarkup:
    hours = list(DELIVERY_HOURS)
    rows = [
        [_button(f"{hour:02d}:00", "hour", chat_id, hour) for hour in hours[i : i + 4]]
        for i in range(0, len(hours), 4)
    ]
    rows.append([_button(tr.gettext("◂ Back"), "menu", chat_id)])
    return InlineKeyboardMarkup(rows)


def stored(context: BotContext, chat: Chat | ChatFullInfo, tr: Translator) -> ChatSettings:
    """The channel's settings; a new channel posts in the language of whoever sets it up."""
    found = context.store.chat(chat.id)
    return found or ChatSettings(chat_id=chat.id, chat_type="channel", language=tr.language)


def changed(settings: ChatSettings, op: str, arg: str | None) -> ChatSettings | None:
    """The settings after pressing ``op``/``arg``, or None if the press changes nothing."""
    if op in ("sub", "unsub"):
        return dataclasses.replace(settings, subscribed=op == "sub")
    if op == "tz":
        chosen = choices.zone_button(arg)  # a campaign in Almaty follows Almaty's protests
        return choices.with_zone(settings, *chosen) if chosen else None
    change = CHOICES.get(op)
    return change(settings, arg) if change else None


def page_argument(arg: str | None) -> int:
    return int(arg) if arg and arg.isdecimal() else 0


CHOICES = {
    "lang": choices.with_language,
    "topic": choices.with_topic,
    "lead": choices.with_lead_toggled,
    "hour": choices.with_hour,
}


# Handlers --------------------------------------------------------------------------------


async def channel_command(update: Update, context: BotContext) -> None:
    """/channel @name, in a private chat: the channel's panel, for its administrators."""
    tr = context.tr(update)
    _ = tr.gettext
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    if chat.type != ChatType.PRIVATE:
        await reply(update, context, esc(_("Set up a channel in a private chat with me.")))
        return
    text = command_argument(context)
    reference = channel_reference(text) if text else None
    if reference is None:
        await reply(
            update,
            context,
            esc(
                _(
                    "To post the reminders and announcements in a channel: add me to the channel "
                    "as "
                    "an administrator who may post messages, then send here /channel and the "
                    "channel's @name (or its id, such as -1001234567890). Only the channel's "
                    "administrators can set it up."
                )
            ),
        )
        return
    try:
        found = await context.bot.get_chat(reference)
    except TelegramError:
        found = None
    if found is None or found.type != ChatType.CHANNEL:
        await reply(
            update,
            context,
            esc(
                _(
                    "I cannot find a channel “%(name)s”. Add me to it as an administrator first, "
                    "then send its @name."
                )
                % {"name": text[:64]}
            ),
        )
        return
    why_not = await refusal(context, found.id, user.id)
    if why_not:
        await reply(update, context, esc(_(why_not)))
        return
    settings = stored(context, found, tr)
    await reply(
        update,
        context,
        channel_panel_text(tr, context, found.title or "", settings),
        channel_panel_markup(tr, settings),
    )


ChannelChange = Callable[
    [Update, BotContext, CallbackQuery, Translator, ChatFullInfo, callbacks.Callback],
    Awaitable[None],
]


def channel_button(act: ChannelChange) -> Handler:
    """A button of a channel's panel: Telegram is asked first whether the person pressing is
    an administrator of the channel named in the (forgeable) callback data."""

    @functools.wraps(act)
    async def on_press(update: Update, context: BotContext) -> None:
        query, data = pressed(update, context)
        user = update.effective_user
        if user is None:
            await query.answer()
            return
        tr = context.tr(update)
        channel_id = int(data.args["chat"])
        why_not = await refusal(context, channel_id, user.id)
        if why_not:
            await query.answer(tr.gettext(why_not), show_alert=True)
            return
        try:
            channel = await context.bot.get_chat(channel_id)
        except TelegramError:
            await query.answer(tr.gettext(NOT_ADMIN), show_alert=True)
            return
        await act(update, context, query, tr, channel, data)

    return on_press


@channel_button
async def on_zones(
    update: Update,
    context: BotContext,
    query: CallbackQuery,
    tr: Translator,
    channel: ChatFullInfo,
    data: callbacks.Callback,
) -> None:
    await query.answer()
    await reply(
        update,
        context,
        esc(tr.gettext("Choose the city whose time the channel's readers live by.")),
        zones_markup(tr, int(data.args["chat"])),
        edit=True,
    )


@channel_button
async def on_hours(
    update: Update,
    context: BotContext,
    query: CallbackQuery,
    tr: Translator,
    channel: ChatFullInfo,
    data: callbacks.Callback,
) -> None:
    await query.answer()
    await reply(
        update,
        context,
        esc(tr.gettext("At what time of day should reminders be posted?")),
        hours_markup(tr, int(data.args["chat"])),
        edit=True,
    )


@channel_button
async def on_forget(
    update: Update,
    context: BotContext,
    query: CallbackQuery,
    tr: Translator,
    channel: ChatFullInfo,
    data: callbacks.Callback,
) -> None:
    await context.store.forget_chat(int(data.args["chat"]))
    await query.answer()
    await reply(update, context, esc(forgotten_text(tr, "channel")), edit=True)


@channel_button
async def on_change(
    update: Update,
    context: BotContext,
    query: CallbackQuery,
    tr: Translator,
    channel: ChatFullInfo,
    data: callbacks.Callback,
) -> None:
    """A choice (``changed``) saved, or "Back": the channel's panel, redrawn. One change of a
    channel at a time: the update processor runs a channel button in the channel's turn too
    (``handlers.admission.chats_of``), so two admins' presses never each read, await a write
    and save their own copy."""
    op = data.args["op"]
    note = None
    settings = stored(context, channel, tr)
    new = changed(settings, op, data.args.get("arg"))
    if new is not None:
        if op == "sub" and not settings.subscribed:
            reminder_service = service.service(context.application)
            if reminder_service is not None:
                await reminder_service.settle_before_subscribing(new)
        await context.store.put_chat(new)
        service.settings_changed(context.application, int(data.args["chat"]))
        settings, note = new, tr.gettext("Saved.")
    await query.answer(note)
    await reply(
        update,
        context,
        channel_panel_text(tr, context, channel.title or "", settings, note),
        channel_panel_markup(tr, settings),
        edit=True,
    )


@channel_button
async def on_follows(
    update: Update,
    context: BotContext,
    query: CallbackQuery,
    tr: Translator,
    channel: ChatFullInfo,
    data: callbacks.Callback,
) -> None:
    """The channel's case picker, at a page."""
    await query.answer()
    settings = stored(context, channel, tr)
    await reply(
        update,
        context,
        follows_text(tr, channel.title or ""),
        follows_markup(tr, context.library, settings, page_argument(data.args.get("arg"))),
        edit=True,
    )


@channel_button
async def on_follow(
    update: Update,
    context: BotContext,
    query: CallbackQuery,
    tr: Translator,
    channel: ChatFullInfo,
    data: callbacks.Callback,
) -> None:
    """A case in the picker: followed by the channel, or no longer; the page redrawn."""
    page, _, tag = (data.args.get("arg") or "").partition("-")
    card = next((card for card in followable(context.library) if follow_tag(card.id) == tag), None)
    settings = stored(context, channel, tr)
    new = choices.with_follow(settings, card.id, card.id not in settings.follows) if card else None
    if card is not None and new is not None:
        reminder_service = service.service(context.application)
        if reminder_service is not None and card.id in new.follows:
            await reminder_service.settle_before_following(new.chat_id, card.id)
        await context.store.put_chat(new)
        service.settings_changed(context.application, new.chat_id)
        settings = new
    await query.answer(tr.gettext("Saved.") if new is not None else None)
    await reply(
        update,
        context,
        follows_text(tr, channel.title or ""),
        follows_markup(tr, context.library, settings, page_argument(page)),
        edit=True,
    )
