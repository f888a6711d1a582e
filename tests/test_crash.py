"""Crash safety: ``python -m bot`` killed with SIGKILL at random moments, again and again.

Two storms, each against a real bot process and an emulator thread:

* settings: many chats subscribe, unsubscribe, change topics, hours, time zones and language,
  one change at a time per chat. A change counts as acknowledged once the user has seen the
  bot's confirmation. After every kill, with the process dead, the files must load and hold
  every acknowledged change (an unacknowledged one may or may not have landed).
* fan-out: hundreds of chats are owed a protest reminder now; the bot is killed while sending
  and restarted until it is done. No chat may get the reminder twice, and every chat that got
  none must be marked "uncertain" in the delivery log (the at-most-once promise).

And a damaged data file must stop the start with one clear line, the file left untouched.
The figures (kills, lost acknowledged changes, duplicates) are printed for the closing note.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from bot_process import (
    BotProcess,
    emulator_thread,
    prepare_fan_out,
    reminder_rows,
    reminder_rows_or_empty,
    reminders_per_chat,
    wait_polling,
    wait_until,
)

from bot.store.models import ChatSettings
from bot.store.repository import Store
from emulator import EmulatorThread

SETTINGS_CHATS = list(range(20_001, 20_121))
IN_FLIGHT = 24
"""Chats with a change on the way at any moment: a storm, yet one change per chat at a time."""
OPERATIONS = (
    # (what the user does, field, value); every one sets a value, none toggles
    ("/subscribe", "subscribed", True),
    ("/unsubscribe", "subscribed", False),
    ("rs:sub", "subscribed", True),
    ("rs:unsub", "subscribed", False),
    ("rs:topic:dec16", "topics", "dec16"),
    ("rs:topic:all", "topics", "all"),
    ("rs:hour:8", "hour", 8),
    ("rs:hour:13", "hour", 13),
    ("rs:hour:21", "hour", 21),
    ("rs:tz:almaty", "timezone", "Asia/Almaty"),
    ("rs:tz:london", "timezone", "Europe/London"),
    ("rs:tz:utc", "timezone", "UTC"),
    ("lang:ru", "language", "ru"),
    ("lang:en", "language", "en"),
)
FIELDS = ("subscribed", "topics", "hour", "timezone", "language")
DEFAULTS = {"subscribed": False, "topics": "all", "hour": 10, "timezone": "UTC", "language": "en"}
"""A chat never saved reads as these; a saved language of None means the app's (English)."""
NO_MESSAGE = 10**6
"""Buttons are pressed on a message the bot cannot edit (like one older than 48 hours), so
every answer is a new message or a callback answer, never an edit of the user's message."""


@dataclass
class Change:
    chat_id: int
    command: str
    name: str
    value: object
    update_id: int
    sent_mark: int


@dataclass
class Figures:
    kills: int = 0
    kills_mid_storm: int = 0
    changes_sent: int = 0
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    unacknowledged_landed: int = 0
    unacknowledged_dropped: int = 0
    seconds: int = 0


def observed(settings: ChatSettings | None) -> dict[str, object]:
    if settings is None:
        return dict(DEFAULTS)
    values = {name: getattr(settings, name) for name in FIELDS}
    values["language"] = values["language"] or "en"
    return values


def load_store(data_dir: Path) -> Store:
    """The files as the next start will read them; a failure here is a failed test."""
    try:
        return Store.open(data_dir, read_only=True)
    except Exception as exc:
        raise AssertionError(f"the data files no longer load after a kill: {exc}") from exc


class SettingsStorm:
    """Drives the emulator from the test thread; the bot runs in its own process."""

    def __init__(self, emulator: EmulatorThread, seed: int) -> None:
        self.emulator = emulator
        self.rng = random.Random(seed)
        self.model = {chat_id: dict(DEFAULTS) for chat_id in SETTINGS_CHATS}
        self.in_flight: dict[int, Change] = {}
        self.unconfirmed: dict[int, int] = {}
        """chat -> update id of its last acknowledged change while Telegram (the emulator)
        still holds that update: a new change waits, so a redelivery cannot overtake it."""
        self.figures = Figures()

    # Talking to the emulator (one call per step, on its own thread) ---------------------------

    def _snapshot(self) -> dict:
        emulator = self.emulator.emulator
        pending = {update["update_id"] for update in emulator.pending}
        acks = {}
        for chat_id, change in self.in_flight.items():
            acks[chat_id] = self._acknowledged(emulator, change)
        return {"pending": pending, "acks": acks}

    @staticmethod
    def _acknowledged(emulator, change: Change) -> bool:
        if not change.command.startswith("/"):
            answer = emulator.callback_answer(change.update_id)
            return bool(answer and answer.text)
        for message in emulator.sent(change.chat_id)[change.sent_mark :]:
            if message.edited:
                continue
            data = {button.get("callback_data") for button in message.buttons}
            if change.command == "/subscribe" and "rs:unsub" in data:
                return True
            if change.command == "/unsubscribe" and not data and "/subscribe" in message.text:
                return True
        return False

    def _send(self, chat_id: int) -> None:
        command, name, value = self.rng.choice(OPERATIONS)

        def send() -> Change:
            emulator = self.emulator.emulator
            mark = len(emulator.sent(chat_id))
            if command.startswith("/"):
                update_id = emulator.user_message(chat_id, command)
            else:
                update_id = emulator.press(
                    chat_id, NO_MESSAGE, command, user_id=chat_id, strict=False
                )
            return Change(chat_id, command, name, value, update_id, mark)

        self.in_flight[chat_id] = self.emulator.call(send)
        self.figures.changes_sent += 1

    def step(self, *, send: bool = True) -> None:
        """Record acknowledgements, then keep IN_FLIGHT changes on the way."""
        state = self.emulator.call(self._snapshot)
        for chat_id, acked in state["acks"].items():
            if acked:
                change = self.in_flight.pop(chat_id)
                self.model[chat_id][change.name] = change.value
                self.figures.acknowledged += 1
                self.unconfirmed[chat_id] = change.update_id
        self.unconfirmed = {
            chat_id: update_id
            for chat_id, update_id in self.unconfirmed.items()
            if update_id in state["pending"]
        }
        idle = [
            chat_id
            for chat_id in SETTINGS_CHATS
            if chat_id not in self.in_flight and chat_id not in self.unconfirmed
        ]
        while send and len(self.in_flight) < IN_FLIGHT and idle:
            self._send(idle.pop(self.rng.randrange(len(idle))))

    # After a kill: the process is dead, the files are final -----------------------------------

    def check_after_kill(self, data_dir: Path) -> None:
        self.step(send=False)  # acknowledgements that arrived just before the kill
        pending = self.emulator.call(
            lambda: {u["update_id"] for u in self.emulator.emulator.pending}
        )
        store = load_store(data_dir)
        for chat_id in SETTINGS_CHATS:
            actual = observed(store.chat(chat_id))
            change = self.in_flight.get(chat_id)
            for name in FIELDS:
                allowed = {self.model[chat_id][name]}
                if change is not None and change.name == name:
                    allowed.add(change.value)
                if actual[name] not in allowed:
                    self.figures.lost.append(
                        f"chat {chat_id}: {name} is {actual[name]!r}, acknowledged "
                        f"{self.model[chat_id][name]!r} (kill {self.figures.kills})"
                    )
                    self.model[chat_id][name] = actual[name]  # count each loss once
            if change is not None and change.update_id not in pending:
                # The dead process took the update and will never answer it: whatever it
                # wrote stands, and no redelivery will come.
                del self.in_flight[chat_id]
                if change.value != self.model[chat_id][change.name]:
                    landed = actual[change.name] == change.value
                    self.figures.unacknowledged_landed += landed
                    self.figures.unacknowledged_dropped += not landed
                self.model[chat_id][change.name] = actual[change.name]

    def check_final(self, data_dir: Path) -> None:
        assert not self.in_flight
        store = load_store(data_dir)
        for chat_id in SETTINGS_CHATS:
            actual = observed(store.chat(chat_id))
            for name in FIELDS:
                if actual[name] != self.model[chat_id][name]:
                    self.figures.lost.append(
                        f"chat {chat_id}: {name} is {actual[name]!r} at "
                        f"the end, acknowledged "
                        f"{self.model[chat_id][name]!r}"
                    )


def first_answer_after(emulator: EmulatorThread, count: int) -> bool:
    return emulator.call(
        lambda: (
            len(emulator.emulator.callback_answers) > count
            or len(emulator.emulator.sent()) > count
        )
    )


def run_settings_storm(tmp_path: Path, kills: int, seed: int) -> Figures:
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    with emulator_thread() as emulator:
        bot = BotProcess(emulator.root_url, data_dir, tmp_path / "bot.log")
        storm = SettingsStorm(emulator, seed)
        began = time.monotonic()
        try:
            for _ in range(kills):
                bot.start()
                started = time.monotonic()
                mid_storm = rng.random() < 2 / 3
                if mid_storm:  # once the bot answers, after a moment of storm
                    answers = emulator.call(lambda: len(emulator.emulator.callback_answers))
                    kill_at = None
                else:  # anywhere in start-up (content sync, store open, menus...)
                    kill_at = started + rng.uniform(0.05, 1.5)
                while True:
                    storm.step()
                    now = time.monotonic()
                    if kill_at is None and emulator.call(
                        lambda n=answers: len(emulator.emulator.callback_answers) > n
                    ):
                        kill_at = now + rng.uniform(0.0, 0.6)
                    if kill_at is not None and now >= kill_at:
                        break
                    assert bot.running, f"the bot exited by itself:\n{bot.log()[-3000:]}"
                    assert now - started < 60, "the bot never answered after a restart"
                    time.sleep(0.01)
                bot.kill()
                storm.figures.kills += 1
                storm.figures.kills_mid_storm += mid_storm
                storm.check_after_kill(data_dir)
            # A last run without kills: every change still on the way gets its answer.
            bot.start()
            wait_polling(emulator, bot)
            wait_until(
                lambda: storm.step(send=False) or not storm.in_flight,
                90,
                "the changes left when the killing stopped",
            )
            storm.figures.seconds = round(time.monotonic() - began)
            assert bot.terminate() == 0
            storm.check_final(data_dir)
        finally:
            bot.cleanup()
    return storm.figures


def report(title: str, figures: object) -> None:
    print(f"\n{title}: {figures}")


STORM_KILLS, FAN_OUT_KILLS = 35, 15
"""50 kills in the CI run, as the issue asks; the slow variants kill 310 times."""


@pytest.mark.timeout(300)
def test_sigkill_during_a_storm_of_settings_changes(tmp_path):
    figures = run_settings_storm(tmp_path, kills=STORM_KILLS, seed=1)
    report("settings storm", figures)
    assert figures.kills == STORM_KILLS
    assert figures.kills_mid_storm >= STORM_KILLS // 3
    assert figures.acknowledged >= 200, "too few changes were acknowledged to mean anything"
    assert figures.lost == [], f"acknowledged changes lost: {figures.lost[:5]}"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_sigkill_during_a_long_storm_of_settings_changes(tmp_path):
    figures = run_settings_storm(tmp_path, kills=250, seed=2)
    report("long settings storm", figures)
    assert figures.lost == [], f"acknowledged changes lost: {figures.lost[:5]}"


# A reminder fan-out killed again and again ----------------------------------------------------


@dataclass
class FanOutFigures:
    kills: int = 0
    seconds: int = 0
    chats: int = 0
    delivered: int = 0
    duplicates: int = 0
    uncertain: int = 0
    lost: int = 0


def run_fan_out_kills(tmp_path: Path, chats: int, kills: int, seed: int) -> FanOutFigures:
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    chat_ids = list(range(50_001, 50_001 + chats))
    prepare_fan_out(data_dir, chat_ids)
    figures = FanOutFigures(chats=chats)
    began = time.monotonic()
    with emulator_thread() as emulator:
        # The free send budget caps the fan-out at 30/s whatever BOT_BROADCAST_RATE says
        # (bot/telegram/budget.py): 300 chats take ~10 s, and kills land before, during
        # and after
        bot = BotProcess(
            emulator.root_url,
            data_dir,
            tmp_path / "bot.log",
            BOT_BROADCAST_RATE=str(max(50, chats // 3)),
        )
        try:
            for _ in range(kills):
                bot.start()
                before = sum(reminders_per_chat(emulator).values())
                wait_until(
                    lambda b=before: (
                        not bot.running
                        or sum(reminders_per_chat(emulator).values()) > b
                        or len(reminder_rows_or_empty(data_dir)) == chats
                    ),
                    60,
                    "the fan-out to resume",
                )
                time.sleep(rng.uniform(0.0, 1.5))
                bot.kill()
                figures.kills += 1
                store = load_store(data_dir)
                rows = reminder_rows_or_empty(data_dir, store)
                counts = reminders_per_chat(emulator)
                assert max(counts.values(), default=0) <= 1, "a reminder was sent twice"
                assert all(
                    state != "sent" or counts.get(chat) == 1 for chat, state in rows.items()
                ), "logged sent, never delivered"
            bot.start()
            wait_polling(emulator, bot)
            wait_until(
                lambda: (
                    len(reminder_rows_or_empty(data_dir)) == chats
                    and all(
                        state != "pending" for state in reminder_rows_or_empty(data_dir).values()
                    )
                ),
                120,
                "the fan-out to finish",
            )
            assert bot.terminate() == 0
            figures.seconds = round(time.monotonic() - began)
        finally:
            bot.cleanup()
        counts = reminders_per_chat(emulator)
    rows = reminder_rows(load_store(data_dir))
    figures.delivered = sum(1 for chat in chat_ids if counts.get(chat, 0) >= 1)
    figures.duplicates = sum(count - 1 for count in counts.values() if count > 1)
    figures.uncertain = sum(1 for chat in chat_ids if rows.get(chat) == "uncertain")
    figures.lost = sum(
        1 for chat in chat_ids if counts.get(chat, 0) == 0 and rows.get(chat) != "uncertain"
    )
    return figures


@pytest.mark.timeout(300)
def test_sigkill_during_a_reminder_fan_out(tmp_path):
    figures = run_fan_out_kills(tmp_path, chats=300, kills=FAN_OUT_KILLS, seed=3)
    report("fan-out", figures)
    assert figures.kills == FAN_OUT_KILLS
    assert figures.duplicates == 0, "a reminder was sent twice"
    assert figures.lost == 0, "a reachable chat got no reminder and none is logged uncertain"
    assert figures.delivered > figures.chats // 2, "the fan-out must mostly have got through"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_sigkill_during_a_long_reminder_fan_out(tmp_path):
    figures = run_fan_out_kills(tmp_path, chats=2000, kills=60, seed=4)
    report("long fan-out", figures)
    assert figures.duplicates == 0 and figures.lost == 0


# A damaged data file at start ----------------------------------------------------------------

DAMAGES = {
    "garbage": lambda raw: b"\x00\xff not json at all",
    "truncated": lambda raw: raw[: len(raw) // 2],
    "empty": lambda raw: b"",
    "foreign": lambda raw: b'{"_default": {"1": {"name": "someone else\'s TinyDB"}}}',
    "other kind": lambda raw: raw.replace(b'"kind":"chats"', b'"kind":"events"'),
    "deleted": None,
}


def make_store_with_backup(data_dir: Path) -> None:
    """A store written by the bot's own code, with its automatic ``.bak`` beside each file."""

    async def write() -> None:
        store = Store.open(data_dir)
        try:
            await store.put_chat(ChatSettings(777, subscribed=True, timezone="Asia/Almaty"))
            await store.put_chat(ChatSettings(778, subscribed=True))
        finally:
            await store.aclose()

    asyncio.run(write())
    assert (data_dir / "chats.json.bak").exists()


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_data_file_stops_the_start_with_one_clear_line(tmp_path, damage):
    data_dir = tmp_path / "data"
    make_store_with_backup(data_dir)
    bot = BotProcess("http://127.0.0.1:9", data_dir, tmp_path / "bot.log")
    snapshot = tmp_path / "snapshot.json"
    assert bot.run("backup", str(snapshot)).returncode == 0
    path = data_dir / "chats.json"
    if DAMAGES[damage] is None:
        path.unlink()
        damaged = None
    else:
        damaged = DAMAGES[damage](path.read_bytes())
        path.write_bytes(damaged)

    result = bot.run()
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one clear line, got: {lines}"
    assert str(path) in lines[0] and "restore" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    if damaged is None:
        assert not path.exists(), "a missing file must not be recreated empty"
    else:
        assert path.read_bytes() == damaged, "the damaged file was changed"

    # The ways back the message names: the automatic backup (cp: a start again, with the
    # data of the last backup rotation), and a snapshot (restore: everything it held).
    if "cp " in lines[0]:
        shutil.copyfile(data_dir / "chats.json.bak", path)
        Store.open(data_dir, read_only=True)
    restored = bot.run("restore", str(snapshot))
    assert restored.returncode == 0, restored.stderr
    store = Store.open(data_dir, read_only=True)
    assert store.chat(777) is not None and store.chat(777).timezone == "Asia/Almaty"
