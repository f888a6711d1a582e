"""SIGTERM, the way Heroku stops a dyno (then SIGKILL after 30 s): the bot stops polling,
finishes or records what it is sending, flushes the store, releases the data dir and exits 0.
"""

from __future__ import annotations

import asyncio
import time

from bot_process import (
    BotProcess,
    emulator_thread,
    prepare_fan_out,
    reminder_rows,
    reminders_per_chat,
    wait_polling,
    wait_until,
)

from bot.store.repository import Store
from emulator import EmulatorThread

GRACE = 20.0
"""Seconds the test gives the bot to exit; Heroku gives 30."""


def subscribed_panels(emulator: EmulatorThread, chats: list[int]) -> list[int]:
    """Chats that saw the "subscribed" panel (the bot sends it after the durable write)."""

    def find() -> list[int]:
        return [
            chat
            for chat in chats
            if any(
                button.get("callback_data") == "rs:unsub"
                for message in emulator.emulator.sent(chat)
                for button in message.buttons
            )
        ]

    return emulator.call(find)


def requests(emulator: EmulatorThread) -> int:
    return emulator.call(lambda: len(emulator.emulator.requests))


def test_sigterm_in_a_storm_of_subscriptions(tmp_path):
    data_dir = tmp_path / "data"
    chats = list(range(30_001, 30_081))
    with emulator_thread() as emulator:
        bot = BotProcess(emulator.root_url, data_dir, tmp_path / "bot.log")
        bot.start()
        try:
            wait_polling(emulator, bot)
            for chat in chats:
                emulator.user_message(chat, "/subscribe")
            wait_until(
                lambda: len(subscribed_panels(emulator, chats)) >= 10,
                30,
                "the first subscriptions",
            )
            assert bot.terminate(GRACE) == 0
            after_exit = requests(emulator)
            acknowledged = subscribed_panels(emulator, chats)
            time.sleep(0.5)
            assert requests(emulator) == after_exit, "a request after the process exited"
        finally:
            bot.cleanup()
    log = bot.log()
    assert "stopped cleanly" in log
    assert "Traceback" not in log
    store = Store.open(data_dir)  # not read-only: the exit released the data dir's lock
    try:
        lost = [
            chat for chat in acknowledged if not (store.chat(chat) and store.chat(chat).subscribed)
        ]
        assert lost == [], f"acknowledged subscriptions lost at shutdown: {lost}"
    finally:
        asyncio.run(store.aclose())


def test_sigterm_during_a_fan_out_records_every_delivery(tmp_path):
    data_dir = tmp_path / "data"
    chat_ids = list(range(60_001, 60_401))
    prepare_fan_out(data_dir, chat_ids)
    with emulator_thread() as emulator:
        bot = BotProcess(
            emulator.root_url, data_dir, tmp_path / "bot.log", BOT_BROADCAST_RATE="100"
        )
        try:
            bot.start()
            wait_until(
                lambda: len(reminders_per_chat(emulator)) >= 40, 60, "the fan-out to be under way"
            )
            assert bot.terminate(GRACE) == 0
            counts = reminders_per_chat(emulator)
            rows = reminder_rows(Store.open(data_dir, read_only=True))
            assert len(counts) < len(chat_ids), "the fan-out finished before SIGTERM"
            assert "pending" not in rows.values(), "an in-flight delivery was not recorded"
            assert {chat for chat, state in rows.items() if state == "sent"} == set(counts)

            bot.start()  # the rest goes out after the restart, nothing twice
            wait_until(
                lambda: len(reminders_per_chat(emulator)) == len(chat_ids),
                60,
                "the rest of the fan-out",
            )
            assert bot.terminate(GRACE) == 0
            counts = reminders_per_chat(emulator)
        finally:
            bot.cleanup()
    assert set(counts) == set(chat_ids) and set(counts.values()) == {1}
    rows = reminder_rows(Store.open(data_dir, read_only=True))
    assert set(rows.values()) == {"sent"}
    assert "Traceback" not in bot.log()
