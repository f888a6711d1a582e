"""Before any handler: edits are not answered again, and a sender beyond their fair share
(``bot.telegram.fairness``) is dropped, told once a minute to slow down.

The check runs in PTB's update processor (``FairUpdates``), so a dropped update costs no
handler lookup and no context; the notice is sent by an ordinary handler in the first group.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import InlineQueryResultsButton, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, BaseUpdateProcessor, TypeHandler

from bot.content import inline
from bot.context import BotContext
from bot.handlers.errors import addressed_to_bot
from bot.handlers.inline import user_translator
from bot.telegram.budget import GroupBusy
from bot.telegram.fairness import Admission, Verdict

log = logging.getLogger(__name__)

ADMISSION_GROUP = -100
"""Before the flows' groups (-10 and up): a dropped update costs no work at all."""
GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)


class FairUpdates(BaseUpdateProcessor):
    """PTB's update processor, which applies ``Admission`` before PTB does any work for an
    update: one beyond its sender's share is dropped here, and the one that earns the sender
    a "slow down" goes on only to ``admit``, which says it. It also counts each sender's
    updates in progress."""

    __slots__ = ("admission", "bot_username", "noticed")

    def __init__(self, admission: Admission, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self.admission = admission
        self.bot_username = ""
        """Set once the bot knows its name (``setup_application``): group commands for it
        are counted, chatter is not."""
        self.noticed: set[int] = set()
        """Updates (by ``id``) in progress that only say "slow down"."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update) or update.effective_user is None:
            await coroutine
            return
        user = update.effective_user.id
        if update.edited_message is None and counted(update, self.bot_username):
            chat = update.effective_chat
            # A group's share is of its commands: presses are each member's own.
            group = (
                chat.id
                if update.message is not None and chat is not None and chat.type in GROUPS
                else None
            )
            verdict = self.admission.check(user, group, inline=update.inline_query is not None)
            if verdict is Verdict.DROP:
                if isinstance(coroutine, Coroutine):
                    coroutine.close()  # never started: nothing was done for it
                return
            if verdict is Verdict.NOTICE:
                log.info("a sender is over their fair share; their updates are dropped a while")
                self.noticed.add(id(update))
        self.admission.started(user)
        try:
            await coroutine
        finally:
            self.admission.finished(user)
            self.noticed.discard(id(update))

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, admit), group=ADMISSION_GROUP)


def counted(update: Update, bot_username: str) -> bool:
    """Updates that ask the bot for something: a message to it, a button, an inline query.
    Group chatter the bot ignores, service messages and the bot's own membership do not."""
    if update.callback_query is not None or update.inline_query is not None:
        return True
    message = update.message
    if message is None or update.effective_user is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    return addressed_to_bot(update, bot_username)


async def admit(update: Update, context: BotContext) -> None:
    """Stop an edited message, and say "slow down" for an update ``FairUpdates`` marked."""
    if update.edited_message is not None:
        raise ApplicationHandlerStop  # an edit is not a new question (and slow mode allows it)
    processor = context.application.update_processor
    if isinstance(processor, FairUpdates) and id(update) in processor.noticed:
        await _tell_to_slow_down(update, context)
        raise ApplicationHandlerStop


async def _tell_to_slow_down(update: Update, context: BotContext) -> None:
    """One polite word, in the sender's language; nothing if it cannot be said."""
    if update.inline_query is not None:
        tr = user_translator(update, context)
        button = InlineQueryResultsButton(
            text=tr.gettext("Too many searches at once: please wait a moment"),
            start_parameter=inline.NO_RESULTS_PAYLOAD,
        )
        with contextlib.suppress(TelegramError):
            await update.inline_query.answer([], cache_time=5, is_personal=True, button=button)
        return
    text = context.tr(update).gettext(
        "You are sending faster than I can answer, so I am skipping some of your messages. "
        "Please wait a minute and try again."
    )
    query = update.callback_query
    with contextlib.suppress(TelegramError, GroupBusy):
        if query is not None:
            await query.answer(text, show_alert=True)
        elif update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
