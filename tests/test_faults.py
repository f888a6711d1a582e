"""Telegram's failures, injected by the emulator while the real bot works.

429 with retry_after, 403, 400 "chat not found", migrate_to_chat_id, 5xx and timeouts, on
replies, on polling and during a reminder fan-out. What must hold: the bot retries what is
worth retrying, gives up on what is not, never stops polling, and its stored state matches what
it told users; a reminder reaches a chat at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field

import pytest
from bot_process import MARKER_ADDRESS, midday_zone, reminder_key, seed_due_reminders
from conftest import BOT_USERNAME, running_bot
from telegram import Update
from telegram.ext import TypeHandler

from bot.reminders import service
from bot.store.repository import Store
from emulator import Emulator
from emulator.faults import FAULT_KINDS

USER = 42
APOLOGY = "Sorry, something went wrong on my side"
DONE_GROUP = 99


class Finished:
    """Tells the test when the bot is done with an update (a handler that runs last)."""

    def __init__(self, app) -> None:
        self.done: set[int] = set()
        self._wake = asyncio.Event()
        app.add_handler(TypeHandler(Update, self._mark), group=DONE_GROUP)

    async def _mark(self, update: Update, _context: object) -> None:
        self.done.add(update.update_id)
        self._wake.set()

    async def wait(self, update_id: int | None, timeout: float = 30) -> None:  # noqa: ASYNC109
        if update_id is None:
            return
        async with asyncio.timeout(timeout):
            while update_id not in self.done:
                self._wake.clear()
                if update_id not in self.done:
                    await self._wake.wait()


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def ask(
    emulator: Emulator,
    chat_id: int,
    text: str,
    *,
    user_id: int | None = None,
    timeout: float = 10,  # noqa: ASYNC109
):
    emulator.unread(chat_id)
    emulator.user_message(chat_id, text, user_id=user_id)
    return await emulator.next_message(chat_id, timeout=timeout)


# One fault on a reply ------------------------------------------------------------------------


@pytest.mark.allow_errors("the injected fault fails the handler, and the error handler logs it")
@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_a_failed_reply_never_stops_the_bot(app, emulator, caplog, kind):
    finished = Finished(app)
    await ask(emulator, USER, "/start")
    caplog.clear()
    # hold=6: longer than the bot's 5 s read timeout, so the bot itself gives up (TimedOut)
    fault = emulator.inject("sendMessage", kind, times=1, chat_id=USER, retry_after=1, hold=6)
    update_id = emulator.user_message(USER, "/help")
    await finished.wait(update_id)
    assert fault.hits == 1
    replies = emulator.unread(USER)
    if kind in ("429", "500"):  # the send budget waits out flood control and retries a
        # server error (bot/telegram/budget.py): the reply is sent after all
        assert len(replies) == 1 and "/prisoner" in replies[0].text
        assert errors(caplog) == []
    elif kind == "403":  # the user blocked the bot: nothing to say, nothing to log
        assert replies == []
        assert errors(caplog) == []
    else:  # the failure is logged and the user gets an apology instead of silence
        assert [APOLOGY in m.text for m in replies] == [True]
        assert any("update failed" in line for line in errors(caplog))
    assert (await ask(emulator, USER, "/start")).buttons, "the bot stopped answering"


@pytest.mark.allow_errors("PTB logs each failed getUpdates as an ERROR")
async def test_polling_survives_failures_of_get_updates(app, emulator, caplog):
    await ask(emulator, USER, "/start")
    faults = [
        emulator.inject("getUpdates", "500", times=1),
        emulator.inject("getUpdates", "429", times=1, retry_after=1),
        emulator.inject("getUpdates", "timeout", times=1, hold=1),
        emulator.inject("getUpdates", "400", times=1),
    ]
    await emulator.wait_for(
        lambda: all(fault.hits for fault in faults), 60, what="every getUpdates fault to be met"
    )
    reply = await ask(emulator, USER, "/help", timeout=60)
    assert "/prisoner" in reply.text


async def test_a_group_that_becomes_a_supergroup_keeps_its_subscription(app, emulator):
    group, admin = -303, 7
    store = app.bot_data.store
    emulator.bot_added_to_group(group, admin)
    await emulator.next_message(group)
    emulator.set_admin(group, admin)
    await ask(emulator, group, f"/subscribe@{BOT_USERNAME}", user_id=admin)
    assert store.chat(group).subscribed
    new_id = emulator.migrate_group(group)
    await emulator.wait_for(lambda: store.chat(new_id), what="the settings to move")
    assert store.chat(group) is None
    assert store.chat(new_id).subscribed and store.chat(new_id).chat_type == "supergroup"
    reply = await ask(emulator, new_id, f"/settings@{BOT_USERNAME}", user_id=admin)
    assert reply.buttons


# Random faults during a storm of settings changes --------------------------------------------

FAULTY_METHODS = ("sendMessage", "editMessageText", "answerCallbackQuery", "getChatMember")
STORM_FAULTS = ("429", "403", "400", "500", "timeout")
OPERATIONS = (
    # (what the user does, the field it sets, the value)
    ("rs:sub", "subscribed", True),
    ("rs:unsub", "subscribed", False),
    ("rs:topic:dec16", "topics", "dec16"),
    ("rs:topic:all", "topics", "all"),
    ("rs:hour:9", "hour", 9),
    ("rs:hour:18", "hour", 18),
    ("lang:ru", "language", "ru"),
    ("lang:en", "language", "en"),
    ("/subscribe", "subscribed", True),
    ("/unsubscribe", "subscribed", False),
)


@dataclass
class ChatModel:
    """What the store may hold for one chat: acknowledged values, and unconfirmed attempts."""

    possible: dict[str, set] = field(
        default_factory=lambda: {
            "subscribed": {False},
            "topics": {"all"},
            "hour": {10},
            "language": {None, "en"},  # the first save records the language the user sees
        }
    )

    def attempt(self, name: str, value: object) -> None:
        self.possible.setdefault(name, set()).add(value)

    def acknowledge(self, name: str, value: object) -> None:
        self.possible[name] = {value}


def acknowledged(
    emulator: Emulator, chat_id: int, update_id: int, command: str, sent_before: int
) -> bool:
    """Did the user see the confirmation that only follows a durable write?"""
    if not command.startswith("/"):
        answer = emulator.callback_answer(update_id)
        return bool(answer and answer.text)
    words = ("Subscribed", "Подписка") if command == "/subscribe" else ("Unsubscribed", "Отпис")
    return any(any(word in m.text for word in words) for m in emulator.sent(chat_id)[sent_before:])


@pytest.mark.allow_errors("injected faults fail handlers, and the error handler logs them")
async def test_random_faults_during_a_storm_of_settings(emulator, config, caplog):
    rng = random.Random(6)
    chats = [101, 102, 103, 104, 105, 106]
    models = {chat_id: ChatModel() for chat_id in chats}
    async with running_bot(config) as app:
        finished = Finished(app)
        store = app.bot_data.store
        panels = {
            chat_id: (await ask(emulator, chat_id, "/settings")).message_id for chat_id in chats
        }
        for method in FAULTY_METHODS:
            for kind in STORM_FAULTS:
                emulator.inject(method, kind, probability=0.06, retry_after=1, hold=0.3)
        for getupdates_kind in ("500", "429", "timeout"):
            emulator.inject("getUpdates", getupdates_kind, probability=0.05, hold=0.3)

        async def storm(chat_id: int) -> None:
            for _ in range(12):
                command, name, value = rng.choice(OPERATIONS)
                sent_before = len(emulator.sent(chat_id))
                models[chat_id].attempt(name, value)
                if command.startswith("/"):
                    update_id = emulator.user_message(chat_id, command)
                else:
                    update_id = emulator.press(
                        chat_id, panels[chat_id], command, user_id=chat_id, strict=False
                    )
                await finished.wait(update_id, timeout=60)
                if acknowledged(emulator, chat_id, update_id, command, sent_before):
                    models[chat_id].acknowledge(name, value)

        await asyncio.gather(*(storm(chat_id) for chat_id in chats))
        hits = sum(fault.hits for fault in emulator.faults)
        emulator.clear_faults()
        assert hits > 10, "the storm must actually have met faults"
        for chat_id in chats:  # every chat still gets answers: polling never stopped
            assert (await ask(emulator, chat_id, "/settings", timeout=30)).buttons
        in_memory = {chat_id: store.chat(chat_id) for chat_id in chats}

    on_disk = Store.open(config.data_dir, read_only=True)
    for chat_id in chats:
        saved = on_disk.chat(chat_id)
        assert saved == in_memory[chat_id], "the files disagree with what the bot knew"
        for name, values in models[chat_id].possible.items():
            actual = getattr(saved, name) if saved else None
            if name == "subscribed" and saved is None:
                actual = False
            assert actual in values, (chat_id, name, actual, values)
    assert not any("Traceback" in line for line in errors(caplog) if "update failed" not in line)


# Faults during a reminder fan-out ------------------------------------------------------------

NORMAL = list(range(301, 321))
BLOCKED, GONE, FLOOD, FLAKY, ANSWER_LOST, NO_ANSWER = 401, 402, 403, 404, 405, 406
BASIC_GROUP, SUPERGROUP = -307, -100307


async def test_faults_during_a_reminder_fan_out(emulator, config):
    reachable = [*NORMAL, FLOOD, FLAKY, ANSWER_LOST, NO_ANSWER]
    everyone = [*reachable, BLOCKED, GONE, BASIC_GROUP]
    async with running_bot(config) as app:
        store = app.bot_data.store
        reminder_service = service.service(app)
        assert reminder_service is not None, "the reminders feature is not started"
        await seed_due_reminders(store, everyone, midday_zone())
        emulator.block(BLOCKED)
        emulator.inject("sendMessage", "400", probability=1.0, chat_id=GONE)
        emulator.inject(
            "sendMessage", "migrate", times=1, chat_id=BASIC_GROUP, migrate_to=SUPERGROUP
        )
        emulator.inject("sendMessage", "429", times=2, chat_id=FLOOD, retry_after=1)
        emulator.inject("sendMessage", "500", times=1, chat_id=FLAKY)
        # Telegram delivers, but the answer never comes back (the bot times out after 5 s)
        emulator.inject("sendMessage", "timeout", times=1, chat_id=ANSWER_LOST, hold=7, apply=True)
        emulator.inject("sendMessage", "timeout", times=1, chat_id=NO_ANSWER, hold=7)

        await reminder_service.sweep()
        with contextlib.suppress(TimeoutError):  # anything still running settles
            await emulator.wait_idle(quiet=0.5, timeout=10)
        first = reminders_per_chat(emulator)
        await (
            reminder_service.sweep()
        )  # a second sweep, as after a restart, must send nothing again
        assert reminders_per_chat(emulator) == first

        key = reminder_key(store)
        rows = store.deliveries.rows(key)
        assert max(first.values()) == 1, f"a reminder was sent twice: {first}"
        for chat_id in [*reachable, SUPERGROUP]:
            assert first.get(chat_id) == 1 or rows.get(chat_id) == "uncertain", chat_id
        assert first.get(BLOCKED) is None and not store.chat(BLOCKED).subscribed
        assert rows[BLOCKED] == "failed" and rows[GONE] == "failed"
        assert store.chat(BASIC_GROUP) is None and store.chat(SUPERGROUP).subscribed
        assert rows.get(SUPERGROUP) == "sent" and BASIC_GROUP not in rows
        assert "pending" not in rows.values()


def reminders_per_chat(emulator: Emulator) -> dict[int, int]:
    counts: dict[int, int] = {}
    for message in emulator.sent():
        if MARKER_ADDRESS in message.text and not message.edited:
            counts[message.chat_id] = counts.get(message.chat_id, 0) + 1
    return counts
