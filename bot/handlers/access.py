"""Who may change a chat's settings: anyone in a private chat, only admins in a group."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.context import BotContext

ADMIN_STATUSES = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})


async def may_change_settings(update: Update, context: BotContext) -> bool:
    """True if the user may change this chat's settings; otherwise tell them, politely.

    Group settings are checked live with getChatMember: admin lists change, and a cached
    answer would let a demoted admin keep control.
    """
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    if chat.type == ChatType.CHANNEL:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
        allowed = member.status in ADMIN_STATUSES
    except TelegramError:
        allowed = False
    if not allowed:
        text = context.tr(update).gettext("Only the group's administrators can change this.")
        if update.callback_query:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message:
            await update.effective_message.reply_text(text)
    return allowed
