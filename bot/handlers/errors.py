"""The one error handler: log the failure, then apologise to the user in their language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Conflict, Forbidden, NetworkError, TelegramError

from bot import alerts, health
from bot.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log first, then tell the user something went wrong; a blocked bot is not an error."""
    error = context.error
    if isinstance(error, Forbidden):
        return  # the user blocked the bot or removed it from the group: nothing to say
    if isinstance(error, Conflict):  # another instance polls with this token
        health.refuse_second_instance(context.application)
        return
    # The exception text can carry user input, but never the token: PTB's request errors do
    # not include URLs, and httpx's own logger is kept at WARNING (see bot.logging_setup).
    log.error("update failed: %s", error.__class__.__name__, exc_info=error)
    if update is not None or not isinstance(error, NetworkError):  # polling retries those
        # In the background: the user's apology must not wait for the admins' messages.
        context.application.create_task(
            _report(context, error, "an update" if update is not None else "a job"))
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    tr = context.tr(update)
    text = tr.gettext("Sorry, something went wrong on my side. Please try again in a moment.")
    try:
        # A message even after a button: the handler may have answered the query already,
        # and Telegram refuses a second answer.
        await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError:
        log.warning("could not tell the user about the failure")


async def _report(context: BotContext, error: BaseException, during: str) -> None:
    try:
        await alerts.report_error(context.application, error, during)
    except Exception:  # reporting must never turn one failure into two
        log.warning("could not report the error to the admins", exc_info=True)
