"""The one error handler: log the failure, then apologise to the user in their language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Conflict, Forbidden, NetworkError, TelegramError

from bot.context import BotContext
from bot.ops import alerts, health
from bot.telegram.budget import GroupBusy

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log first, then tell the user something went wrong; a blocked bot is not an error."""
    error = context.error
    assert error is not None  # PTB calls error handlers with one
    if isinstance(error, Forbidden):
        return  # the user blocked the bot or removed it from the group: nothing to say
    if isinstance(error, GroupBusy):
        return  # the group spent its 20 messages a minute: this answer is dropped, not late
    if isinstance(error, Conflict):  # another instance polls with this token
        await health.on_conflict(context.application)
        return
    # The exception text can carry user input, but never the token: PTB's request errors do
    # not include URLs, and httpx's own logger is kept at WARNING (see bot.logs).
    log.error("update failed: %s", error.__class__.__name__, exc_info=error)
    if update is not None or not isinstance(error, NetworkError):  # polling retries those
        # In the background: the user's apology must not wait for the admins' messages.
        context.application.create_task(
            _report(context, error, "update" if update is not None else "job")
        )
    if not isinstance(update, Update) or not addressed_to_bot(update, context.bot_username):
        return
    tr = context.tr(update)
    text = tr.gettext("Sorry, something went wrong on my side. Please try again in a moment.")
    try:
        # A message even after a button: the handler may have answered the query already,
        # and Telegram refuses a second answer.
        assert update.effective_chat is not None  # addressed_to_bot says no without one
        await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError:
        log.warning("could not tell the user about the failure")


async def _report(context: BotContext, error: BaseException, during: str) -> None:
    try:
        await alerts.report_error(context.application, error, during)
    except Exception:  # reporting must never turn one failure into two
        log.warning("could not report the error to the admins", exc_info=True)


def addressed_to_bot(update: Update, bot_username: str) -> bool:
    """Whether someone asked the bot something and waits for an answer: a button, anything in
    a private chat, and in a group a command for this bot or a reply to it. A group that
    became a supergroup, or the bot being added, is not a question: no apology there."""
    chat = update.effective_chat
    if chat is None:
        return False
    if update.callback_query is not None or chat.type == ChatType.PRIVATE:
        return True
    message = update.message
    if message is None:
        return False
    replied = message.reply_to_message
    if (
        replied is not None
        and replied.from_user is not None
        and (replied.from_user.username or "").lower() == bot_username.lower()
    ):
        return True
    command = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    if not command.startswith("/"):
        return False
    return "@" not in command or command.lower().endswith("@" + bot_username.lower())
