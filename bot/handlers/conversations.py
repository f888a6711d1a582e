"""Multi-step flows (a correction, a typed time zone, /event_add, /event_edit, /event_message,
/broadcast) as PTB ConversationHandlers: each ends after a quiet spell, any command leaves it,
and an edited message never starts or feeds one.

A conversation is per chat and user. Its state says which handlers listen: the flow's typed
answers and its own buttons (a button of a flow that is not open reaches the catch-all's "out
of date"). What an organisers' flow has collected is a typed draft (``handlers.drafts``,
memory only). Each flow sits in its own handler group before the ordinary handlers: a step
stops the update there (``stay``/``done``), so typed text it takes is not also searched for,
and a command goes on to its own handler once each open flow has ended on it. The update
processor runs one chat's updates in order (``handlers.admission``), as ConversationHandler
requires, so two quick messages are taken one after the other.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NoReturn

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

from bot.context import BotContext

TYPING = "typing"
END = ConversationHandler.END
SHORT_TIMEOUT = 10 * 60
"""A correction or a time zone name is typed within minutes, or forgotten."""
LONG_TIMEOUT = 30 * 60
"""/event_add has eight steps; an organiser may look up an address between two of them."""
NEW_MESSAGES = filters.UpdateType.MESSAGE
"""Edits are not answers: editing "/broadcast" or a step's text must not re-run anything."""
FIRST_GROUP = -9
"""The first flow's handler group; each flow has its own, all before group 0."""

Leave = Callable[[Update, BotContext], None]
"""Forget what a flow collected, for the update's user (its command, or its last update when
the flow timed out)."""


def stay(state: object = TYPING) -> NoReturn:
    """Keep the flow open (in ``state``) and keep this update from the ordinary handlers."""
    raise ApplicationHandlerStop(state)


def done() -> NoReturn:
    """Close the flow; the update was answered here."""
    raise ApplicationHandlerStop(END)


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
    """Each flow in a handler group of its own, before group 0."""
    for number, flow in enumerate(flows):
        application.add_handler(flow, group=FIRST_GROUP + number)
