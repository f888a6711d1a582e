"""The emulator's memory: chats, messages, pending updates and what the bot did.

Everything here runs on the emulator's event loop; tests read the records directly and wait on
them with ``wait_for`` / ``next_message`` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from .faults import Fault, RateLimiter
from .records import ApiRequest, BotMessage, CallbackAnswer, InlineAnswer, SentDocument
from .spec import load_spec

DEFAULT_BOT_ID = 123456
DEFAULT_USERNAME = "zhanaozen_sandbox_bot"
DEFAULT_GROUP_USER_ID = 1001
Listener = Callable[[str, Any], None]


class Signal:
    """Wakes every coroutine waiting for "something changed"; cheaper than a Condition."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait({waiter}, timeout=max(0.0, timeout))
        finally:
            self._waiters.discard(waiter)


class EmulatorState:
    def __init__(
        self,
        *,
        username: str = DEFAULT_USERNAME,
        first_name: str = "Zhanaozen Sandbox",
        token: str | None = None,
        can_join_groups: bool = True,
        supports_inline_queries: bool = True,
        privacy_mode: bool = True,
        strict_chats: bool = False,
        seed: int = 0,
        record_requests: bool = True,
    ) -> None:
        self.spec = load_spec()
        self.username = username
        self.first_name = first_name
        self.token = token
        self.bot_id = int(token.split(":")[0]) if token else DEFAULT_BOT_ID
        self.can_join_groups = can_join_groups
        self.supports_inline_queries = supports_inline_queries
        self.privacy_mode = privacy_mode
        """In groups the bot only sees commands and replies to it, unless it is an admin."""
        self.strict_chats = strict_chats
        """Answer "chat not found" for chats no simulated user has written from."""
        self.rng = random.Random(seed)
        self.record_requests = record_requests
        """False keeps ``requests`` empty: long benchmarks need not hold every call."""
        self.listeners: list[Listener] = []
        self.changed = Signal()
        self.new_updates = Signal()
        self._update_id = 0
        self.deliveries: dict[int, int] = defaultdict(int)
        """Update id -> how many times getUpdates has handed it out (a bot that stops before
        confirming an update gets it again, as from Telegram)."""
        self._message_ids: dict[int, int] = defaultdict(int)
        self._serial = 0
        self._init_records()

    def _init_records(self) -> None:
        self.requests: list[ApiRequest] = []
        self.violations: list[str] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.inline_answers: list[InlineAnswer] = []
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.menu_buttons: dict[int | None, dict] = {}
        self.deleted: list[tuple[int, int]] = []
        self.delivered: Counter[int] = Counter()
        """Messages delivered per chat, to check that a broadcast reached each exactly once."""
        self.too_many_requests = 0
        self.faults: list[Fault] = []
        self.rate_limiter: RateLimiter | None = None
        self.chats: dict[int, dict] = {}
        self.users: dict[int, dict] = {}
        self.messages: dict[tuple[int, int], dict] = {}
        self.inline_messages: dict[str, dict] = {}
        self.files: dict[str, dict] = {}
        self.member_status: dict[tuple[int, int], str] = {}
        self.cannot_post: set[tuple[int, int]] = set()
        """(channel, administrator) pairs whose can_post_messages is false."""
        self.blocked: set[int] = set()
        self.kicked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.pending: list[dict] = []
        self.update_log: dict[int, dict] = {}
        self.webhook: dict | None = None
        self._history: dict[int | None, list[BotMessage]] = defaultdict(list)
        self._timeline: list[BotMessage] = []
        self._read: dict[int | None, int] = defaultdict(int)
        self._callback_queries: dict[str, dict] = {}
        self._inline_queries: dict[str, dict] = {}

    def reset(self) -> None:
        """Forget everything but the ids (a polling bot's offset must stay valid)."""
        self._init_records()
        self.changed.notify()

    # -- identities -------------------------------------------------------------------------

    def bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        is_premium: bool | None = None,
    ) -> dict:
        user = {"id": user_id, "is_bot": False, "first_name": first_name or f"User {user_id}"}
        extra = {"last_name": last_name, "username": username, "is_premium": is_premium}
        user.update({key: value for key, value in extra.items() if value is not None})
        self.users[user_id] = user
        return user

    def user(self, user_id: int, language_code: str | None = None) -> dict:
        user = dict(self.users.get(user_id) or self.add_user(user_id, username=f"user{user_id}"))
        if language_code:
            user["language_code"] = language_code
        return user

    def chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        username: str | None = None,
    ) -> dict:
        """The chat with this id, created on first use (negative ids are groups)."""
        if chat_id in self.chats:
            return self.chats[chat_id]
        if chat_type is None:
            chat_type = (
                "private"
                if chat_id > 0
                else "supergroup"
                if str(chat_id).startswith("-100")
                else "group"
            )
        chat: dict = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            user = self.user(chat_id)
            chat.update(
                {key: user[key] for key in ("first_name", "last_name", "username") if key in user}
            )
        else:
            chat["title"] = title or f"Test {chat_type} {chat_id}"
            if username:
                chat["username"] = username
        self.chats[chat_id] = chat
        return chat

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """creator, administrator, member, restricted, left or kicked (getChatMember)."""
        self.member_status[(chat_id, user_id)] = status

    def set_admin(
        self,
        chat_id: int,
        user_id: int,
        status: str = "administrator",
        *,
        can_post_messages: bool = True,
    ) -> None:
        """In a channel, ``can_post_messages=False`` makes an administrator who cannot post."""
        self.set_member_status(chat_id, user_id, status)
        if can_post_messages:
            self.cannot_post.discard((chat_id, user_id))
        else:
            self.cannot_post.add((chat_id, user_id))

    def add_channel(self, chat_id: int, username: str, *, title: str = "Test channel") -> dict:
        """A channel the bot can find with getChat(@username)."""
        return self.chat(chat_id, "channel", title=title, username=username)

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sending to them answers 403 (no update; see users.py)."""
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self.blocked.discard(user_id)

    # -- ids, time, events ------------------------------------------------------------------

    def now(self) -> int:
        return int(time.time())

    def next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] += 1
        return self._message_ids[chat_id]

    def emit(self, event: str, payload: Any) -> None:
        """Tell listeners (the sandbox's printer, the CLI's log) and wake waiters."""
        for listener in list(self.listeners):
            listener(event, payload)
        self.changed.notify()

    def push_update(self, kind: str, payload: dict) -> int:
        self._update_id += 1
        update = {"update_id": self._update_id, kind: payload}
        return self.push_raw(update)

    def push_raw(self, update: dict) -> int:
        self._update_id = max(self._update_id, update["update_id"])
        self.pending.append(update)
        self.update_log[update["update_id"]] = update
        self.new_updates.notify()
        self.changed.notify()
        self.on_new_update()
        return update["update_id"]

    def on_new_update(self) -> None:
        """Hook for webhook delivery (the server overrides it)."""

    def record_message(self, record: BotMessage) -> None:
        self._history[record.chat_id].append(record)
        self._timeline.append(record)
        self.emit("message", record)

    # -- what tests read --------------------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[BotMessage]:
        """Messages the bot sent or edited (edits are separate records with edited=True).

        Without chat_id: every chat, in the order they happened.
        """
        if chat_id is None:
            return list(self._timeline)
        return list(self._history.get(chat_id, []))

    def documents(self, chat_id: int | None = None) -> list[SentDocument]:
        return [
            record.document
            for record in self.sent(chat_id)
            if record.document is not None and not record.edited
        ]

    def message(self, chat_id: int, message_id: int) -> dict | None:
        """The message as it is now (after edits), or None if deleted or unknown."""
        stored = self.messages.get((chat_id, message_id))
        return stored["message"] if stored else None

    def commands_for(self, scope: str = "default", language_code: str = "") -> list[dict]:
        """Scope keys: default, all_private_chats, chat:<id>, chat_member:<chat>:<user>, ..."""
        return self.commands.get((scope, language_code), [])

    def update(self, update_id: int) -> dict | None:
        return self.update_log.get(update_id)

    def callback_answer(self, update_id: int) -> CallbackAnswer | None:
        return next((a for a in self.callback_answers if a.update_id == update_id), None)

    def inline_answer(self, update_id: int) -> InlineAnswer | None:
        return next((a for a in self.inline_answers if a.update_id == update_id), None)

    def unread(self, chat_id: int | None) -> list[BotMessage]:
        """Records not yet returned by next_message, marking them read."""
        history = self._history.get(chat_id, [])
        records = history[self._read[chat_id] :]
        self._read[chat_id] = len(history)
        return records

    async def next_message(self, chat_id: int | None, timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109
        """The oldest record in this chat that no earlier call returned; waits for one."""

        def unread_one() -> BotMessage | None:
            history = self._history.get(chat_id, [])
            if self._read[chat_id] < len(history):
                self._read[chat_id] += 1
                return history[self._read[chat_id] - 1]
            return None

        return await self.wait_for(
            unread_one, timeout, what=f"a message from the bot in chat {chat_id}"
        )

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        what: str | None = None,
    ) -> Any:
        """Return predicate()'s first truthy value, re-checked whenever the bot calls the API."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(r.method for r in self.requests[-8:]) or "none"
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for "
                    f"{what or getattr(predicate, '__name__', 'condition')}; "
                    f"last API calls: {recent}; violations: {self.violations}"
                )
            await self.changed.wait(min(remaining, 0.25))

    async def wait_callback_answer(self, update_id: int, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109
        return await self.wait_for(
            lambda: self.callback_answer(update_id),
            timeout,
            what=f"answerCallbackQuery for update {update_id}",
        )

    async def wait_inline_answer(self, update_id: int, timeout: float = 5.0) -> InlineAnswer:  # noqa: ASYNC109
        return await self.wait_for(
            lambda: self.inline_answer(update_id),
            timeout,
            what=f"answerInlineQuery for update {update_id}",
        )
