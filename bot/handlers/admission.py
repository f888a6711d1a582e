"""Before any handler: edits are not answered again, a sender beyond their fair share
(``bot.telegram.fairness``) is dropped, told once a minute to slow down, and one chat's
updates are handled one after the other.

The check runs in PTB's update processor (``FairUpdates``), so a dropped update costs no
handler lookup and no context; the notice is sent by an ordinary handler in the first group.
The same processor orders each chat's updates (``ChatOrder``): a handler never runs beside
another of its chat, so no handler takes a lock of its own, and PTB's ConversationHandler
gets the ordering it requires.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterable
from typing import Any

from telegram import InlineQueryResultsButton, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, BaseUpdateProcessor, TypeHandler

from bot import callbacks
from bot.content import inline
from bot.context import BotContext
from bot.handlers.errors import addressed_to_bot
from bot.handlers.inline import user_translator
from bot.telegram.budget import GroupBusy
from bot.telegram.fairness import Admission, Verdict

log = logging.getLogger(__name__)

ADMISSION_GROUP = -100
"""Before the flows' groups (-9 and up): a dropped update costs no work at all."""
GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)
HELD_PER_RUNNING = 16
"""Updates admitted at once, running or waiting for their chat's turn, per update running:
PTB's own bound (``max_concurrent_updates`` of the base class), far above what runs."""


class _Ticket:
    __slots__ = ("chats", "ready")

    def __init__(self, chats: frozenset[int]) -> None:
        self.chats = chats
        self.ready = asyncio.Event()
        """Set once the update is first in the queue of every chat it names."""


class ChatOrder:
    """Each chat's updates in the order they came: a queue per chat, made when an update of
    the chat comes and dropped when the last one is done, so an idle chat costs nothing.

    An update that names two chats (a channel's button, pressed in a private chat) joins both
    queues at once when it comes, and runs when it is first in both: arrival order is the
    same in every queue, so no two updates ever wait for each other (no deadlock)."""

    __slots__ = ("_queues",)

    def __init__(self) -> None:
        self._queues: dict[int, collections.deque[_Ticket]] = {}

    def __len__(self) -> int:
        """Chats with an update in progress or waiting."""
        return len(self._queues)

    @contextlib.asynccontextmanager
    async def turn(self, chats: Iterable[int]) -> AsyncIterator[None]:
        """Wait until every update that came before for one of ``chats`` is done."""
        ticket = _Ticket(frozenset(chats))
        for chat in ticket.chats:
            self._queues.setdefault(chat, collections.deque()).append(ticket)
        try:
            self._wake(ticket)
            await ticket.ready.wait()
            yield
        finally:
            for chat in ticket.chats:
                queue = self._queues[chat]
                queue.remove(ticket)  # first, unless it was cancelled while waiting
                if queue:
                    self._wake(queue[0])
                else:
                    del self._queues[chat]

    def _wake(self, ticket: _Ticket) -> None:
        if all(self._queues[chat][0] is ticket for chat in ticket.chats):
            ticket.ready.set()


def chats_of(update: object) -> list[int]:
    """The chats an update changes or answers in: its own, and for a channel panel's button
    (pressed in a private chat) the channel it names, so a channel's settings change one
    press at a time whoever presses."""
    if not isinstance(update, Update):
        return []
    chat = update.effective_chat
    chats = [chat.id] if chat is not None else []
    query = update.callback_query
    if query is not None and isinstance(query.data, str):
        pressed = callbacks.parse(query.data)
        if pressed is not None and pressed.action == callbacks.CHANNEL and "chat" in pressed.args:
            chats.append(int(pressed.args["chat"]))
    return chats


class FairUpdates(BaseUpdateProcessor):
    """PTB's update processor, which applies ``Admission`` before PTB does any work for an
    update: one beyond its sender's share is dropped here, and the one that earns the sender
    a "slow down" goes on only to ``admit``, which says it. It also counts each sender's
    updates in progress.

    Then each update waits for its chat's turn (``ChatOrder``): one chat's updates run in the
    order they came, different chats' side by side, at most ``max_running`` at once. An
    update waiting for its chat holds no running slot, so a busy group does not hold up
    other chats; it is counted in its sender's updates in progress, so a flood is dropped by
    the admission above rather than queued."""

    __slots__ = ("admission", "bot_username", "chats", "max_running", "noticed", "running")

    def __init__(self, admission: Admission, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates * HELD_PER_RUNNING)
        self.max_running = max_concurrent_updates
        self.running = asyncio.Semaphore(max_concurrent_updates)
        self.chats = ChatOrder()
        self.admission = admission
        self.bot_username = ""
        """Set once the bot knows its name (``setup_application``): group commands for it
        are counted, chatter is not."""
        self.noticed: set[int] = set()
        """Updates (by ``id``) in progress that only say "slow down"."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update) or update.effective_user is None:
            await self._in_turn(update, coroutine)
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
            await self._in_turn(update, coroutine)
        finally:
            self.admission.finished(user)
            self.noticed.discard(id(update))

    async def _in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update once its chats' turn has come and a running slot is free."""
        started = False
        try:
            async with self.chats.turn(chats_of(update)), self.running:
                started = True
                await coroutine
        finally:
            if not started and isinstance(coroutine, Coroutine):
                coroutine.close()  # cancelled while waiting: never started

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
