"""Multi-step flows (a correction, a typed time zone, /event_add, /broadcast) as PTB
ConversationHandlers: each ends after a quiet spell, any command leaves it, and an edited
message never starts or feeds one.

What a flow has collected lives in ``ChatData`` (memory only); the conversation's state says
only "typing". Each flow sits in its own handler group before the ordinary handlers, so typed
text it takes is not also searched for (``ApplicationHandlerStop``), and text it does not want
(its flow was left or finished by a button) falls through to them. The update processor runs
one chat's updates in order (``handlers.admission``), so two quick messages are taken one
after the other.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.context import BotContext, ChatData

TYPING = "typing"
END = ConversationHandler.END
SHORT_TIMEOUT = 10 * 60
"""A correction or a time zone name is typed within minutes, or forgotten."""
LONG_TIMEOUT = 30 * 60
"""/event_add has eight steps; an organiser may look up an address between two of them."""
NEW_MESSAGES = filters.UpdateType.MESSAGE
"""Edits are not answers: editing "/broadcast" or a step's text must not re-run anything."""
LEAVE_GROUP = -10
"""Runs before every flow: a command from the flow's user ends whatever flow was open."""

Leave = Callable[[Update, BotContext], None]
"""Forget what a flow collected, for the update's user (its command, or its last update when
the flow timed out)."""


def stay(state: object = TYPING) -> NoReturn:
    """Keep the flow open (in ``state``) and keep this update from the ordinary handlers."""
    raise ApplicationHandlerStop(state)


def done() -> NoReturn:
    """Close the flow; the update was answered here."""
    raise ApplicationHandlerStop(END)


def clear_flows(data: ChatData, user_id: int | None) -> None:
    """Forget every open flow of this chat that the user started (a group's other members
    cannot end an admin's flow)."""
    pending = data.pending
    if pending and pending.get("user") in (None, user_id):
        data.pending = None
    data.awaiting_correction_for = None


async def _leave_on_command(update: Update, context: BotContext) -> None:
    if context.chat_data is not None:
        user = update.effective_user
        clear_flows(context.chat_data, user.id if user else None)


def conversation(
    name: str,
    entry_points: list[BaseHandler],
    states: dict[object, list[BaseHandler]],
    timeout: int,
    leave: Leave | None = None,
) -> ConversationHandler:
    """A flow: ``entry_points`` start it, each state's handlers (its typed answers and its
    buttons) take it on. A command, or ``timeout`` seconds without a word, ends it (``leave``
    forgets what it collected); the command then goes on to its own handler."""

    async def ended(update: object, context: BotContext) -> object:
        if leave is not None and isinstance(update, Update):
            leave(update, context)
        return END

    with warnings.catch_warnings():
        # Buttons are tracked per chat and user on purpose: a flow's buttons are its messages.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
            entry_points=entry_points,
            states={**states, ConversationHandler.TIMEOUT: [TypeHandler(Update, ended)]},
            fallbacks=[MessageHandler(filters.COMMAND & NEW_MESSAGES, ended)],
            allow_reentry=True,
            conversation_timeout=timeout,
            name=name,
        )


def register(application: Application, flows: list[ConversationHandler]) -> None:
    """The leave-on-command handler, then each flow in a group of its own (before group 0)."""
    application.add_handler(
        MessageHandler(filters.COMMAND & NEW_MESSAGES, _leave_on_command), group=LEAVE_GROUP
    )
    for number, flow in enumerate(flows):
        application.add_handler(flow, group=LEAVE_GROUP + 1 + number)


Step = Callable[[Update, BotContext], Awaitable[bool | None]]


def step(callback: Step) -> Callable[[Update, BotContext], Coroutine[Any, Any, object]]:
    """Run a typed step. ``callback`` returns True to stay in the flow, False when the flow
    is finished, and None when the flow was no longer open (the text then goes on to the
    ordinary handlers, e.g. as a search)."""

    async def run(update: Update, context: BotContext) -> object:
        result = await callback(update, context)
        if result is None:
            return END
        if result:
            stay()
        done()

    return run
