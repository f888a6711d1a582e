"""Helpers every handler module shares: replying in place, menus, command arguments."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    SwitchInlineQueryChosenChat,
    Update,
)
from telegram.error import BadRequest

from bot import callbacks
from bot.content.inline import MAX_QUERY
from bot.context import BotContext
from bot.i18n import Translator

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
"""What PTB's handlers call: an async function of the update and the context."""


async def reply(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    edit: bool = False,
) -> Message | None:
    """Answer where the user asked: edit the pressed message, or reply to the command.

    In groups the answer is a reply to the message that asked, so a busy group sees which
    question it answers.
    """
    query = update.callback_query
    # A deleted or too old message arrives with date 0 (PTB still makes it a Message):
    # it cannot be edited, so the answer goes out as a new message.
    if edit and query and isinstance(query.message, Message) and query.message.is_accessible:
        if _unchanged(query.message, text, markup):
            return query.message
        try:
            edited = await query.edit_message_text(
                text, reply_markup=markup, link_preview_options=NO_PREVIEW
            )
            return edited if isinstance(edited, Message) else None  # True: inline messages
        except BadRequest as exc:  # a second tap on the same button: nothing to change
            if "not modified" not in exc.message.lower():
                raise
            return None
    chat = update.effective_chat
    if chat is None:
        return None
    message = update.effective_message
    reply_params = None
    if message is not None and chat.type != "private" and not query:
        reply_params = ReplyParameters(
            message_id=message.message_id, allow_sending_without_reply=True
        )
    return await context.bot.send_message(
        chat.id,
        text,
        reply_markup=markup,
        reply_parameters=reply_params,
        link_preview_options=NO_PREVIEW,
    )


def action_button(action: str, label: str, *args: object) -> InlineKeyboardButton:
    """A button whose callback data is ``action:args…``, checked by ``callbacks.build``."""
    return InlineKeyboardButton(label, callback_data=callbacks.build(action, *args))


def pressed(update: Update, context: BotContext) -> tuple[CallbackQuery, callbacks.Callback]:
    """The pressed button and its data, as its handler's ``callbacks.pattern`` matched it."""
    query = update.callback_query
    assert query is not None and context.matches, "registered with a callbacks.pattern"
    return query, callbacks.from_match(context.matches[0])


def answered(show: Handler) -> Handler:
    """A button that opens what a command shows: answer the press, then show it."""

    async def on_press(update: Update, context: BotContext) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        if update.effective_chat is None:
            return  # under a message sent through inline mode: no chat to show it in
        await show(update, context)

    return on_press


def _unchanged(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """Telegram refuses an edit that changes nothing (a double tap, a stale button)."""
    plain = html.unescape(re.sub(r"<[^>]*>", "", text)).strip()
    return (message.text or "").strip() == plain and message.reply_markup == markup


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
"""Cards end with a link back to the bot; its preview would only repeat the card."""


def command_argument(context: BotContext) -> str:
    return " ".join(context.args or [])[:MAX_QUERY].strip()


def main_menu(tr: Translator) -> InlineKeyboardMarkup:
    _ = tr.gettext
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("Prisoners"), callback_data=callbacks.build("list", "p")),
                InlineKeyboardButton(_("In memory"), callback_data=callbacks.build("list", "m")),
            ],
            [
                InlineKeyboardButton(
                    _("Anniversaries"), callback_data=callbacks.build("list", "a")
                ),
                InlineKeyboardButton(_("Today"), callback_data=callbacks.build("menu", "today")),
            ],
            [
                InlineKeyboardButton(
                    _("Reminders"), callback_data=callbacks.build("menu", "settings")
                ),
                InlineKeyboardButton(
                    _("Language"), callback_data=callbacks.build("menu", "language")
                ),
            ],
            [InlineKeyboardButton(_("Help"), callback_data=callbacks.build("menu", "help"))],
        ]
    )


def share_button(tr: Translator, query: str) -> InlineKeyboardButton:
    """Opens the chat picker with the card's inline query filled in: two taps to share."""
    return InlineKeyboardButton(
        tr.gettext("Share"),
        switch_inline_query_chosen_chat=SwitchInlineQueryChosenChat(
            query=query, allow_user_chats=True, allow_group_chats=True, allow_channel_chats=True
        ),
    )


def is_admin(update: Update, context: BotContext) -> bool:
    user = update.effective_user
    return bool(user and user.id in context.config.admin_ids)


async def stale_button(update: Update, context: BotContext) -> None:
    """Forged, stale or foreign callback data: say so, change nothing."""
    query = update.callback_query
    if query is None:
        return
    tr = context.tr(update)
    await query.answer(
        tr.gettext("This button is out of date. Send /start to begin again."), show_alert=False
    )
