"""``python -m bot`` as a real process against an emulator thread, for the tests that need a
process to kill, to stop with SIGTERM or to read the log of (crash, shutdown, privacy); and a
protest reminder that is due now, for the tests of a fan-out under faults and crashes.

Everything the bot prints goes to one log file per test, appended to across restarts, so a
test can search all of it (for the token, say) at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from conftest import ADMIN_ID, BOT_USERNAME, TOKEN

from bot.store.models import ChatSettings
from bot.store.repository import Store
from emulator import EmulatorThread

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def emulator_thread(**options: Any) -> Iterator[EmulatorThread]:
    """An emulator on its own thread; fails the test if the bot sent anything invalid."""
    emulator = EmulatorThread(username=BOT_USERNAME, **options).start()
    try:
        yield emulator
        violations = emulator.call(lambda: list(emulator.emulator.violations))
        assert not violations, f"requests the Bot API would reject: {violations}"
    finally:
        emulator.stop()


def bot_env(api_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOT_")}
    env.update(
        BOT_TOKEN=TOKEN,
        BOT_API_URL=api_url,
        BOT_DATA_DIR=str(data_dir),
        BOT_ADMIN_IDS=str(ADMIN_ID),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


class BotProcess:
    """One bot process at a time; start, kill and stop it as often as a test likes."""

    def __init__(self, api_url: str, data_dir: Path, log_path: Path, **env: str) -> None:
        self.env = bot_env(api_url, data_dir, **env)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, *args: str) -> subprocess.Popen:
        assert not self.running, "the previous bot process is still running"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        return self.process

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """A short task (``backup``, a start that should fail...), its output captured."""
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed; the worst crash there is."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM, as Heroku sends; returns the exit code (fails if it does not exit)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise AssertionError(f"the bot did not exit within {timeout}s of SIGTERM") from None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cleanup(self) -> None:
        if self.running:
            self.kill()


def wait_polling(emulator: EmulatorThread, bot: BotProcess, timeout: float = 60) -> None:
    """Until the bot process asks for updates: it is up, and SIGTERM now means a shutdown."""

    def polls() -> int:
        return emulator.call(
            lambda: sum(r.method == "getUpdates" for r in emulator.emulator.requests)
        )

    before = polls()
    wait_until(lambda: polls() > before or not bot.running, timeout, "the bot to start polling")
    assert bot.running, f"the bot exited during start-up:\n{bot.log()[-3000:]}"


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, poll: float = 0.02) -> Any:
    """predicate()'s first truthy value; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


# A protest reminder that is due right now ----------------------------------------------------

MARKER_ADDRESS = "1 Reliability Test Street"
"""In every reminder of the test protest, in both languages: counts its deliveries."""


def midday_zone(now: datetime | None = None) -> str:
    """A fixed-offset zone where it is about noon now: reminders are due, not in quiet hours."""
    now = now or datetime.now(UTC)
    offset = 12 - now.hour  # -11 ... +12, all of which exist as Etc/GMT zones
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{-offset:+d}"  # the Etc sign is inverted: Etc/GMT-5 is UTC+5


def due_event(zone: str, event_id: str = "reliability-test") -> dict:
    """A protest at 18:00 today in ``zone``: its same-day reminder (09:00) is already due."""
    today = datetime.now(ZoneInfo(zone)).date()
    return {
        "id": event_id,
        "city": {"en": "Testburg", "ru": "Тестбург"},
        "venue": {"en": "Town square", "ru": "Площадь"},
        "address": MARKER_ADDRESS,
        "starts_at": f"{today.isoformat()}T18:00:00",
        "timezone": zone,
        "organiser": {"en": "Test group", "ru": "Тестовая группа"},
    }


def due_subscriber(chat_id: int, zone: str, language: str = "en") -> ChatSettings:
    chat_type = "private" if chat_id > 0 else "supergroup"
    return ChatSettings(
        chat_id,
        chat_type,
        language,
        zone,
        hour=9,
        subscribed=True,
        topics="dec16",
        cities=["testburg"],
        leads=[0],
    )


async def seed_due_reminders(store: Store, chat_ids: list[int], zone: str) -> dict:
    """Subscribers owed the test protest's reminder now; returns the event."""
    event = due_event(zone)
    await store.put_event(event)
    for number, chat_id in enumerate(chat_ids):
        await store.put_chat(due_subscriber(chat_id, zone, "ru" if number % 3 == 0 else "en"))
    return event


def prepare_fan_out(data_dir: Path, chat_ids: list[int]) -> None:
    async def seed() -> None:
        store = Store.open(data_dir)
        try:
            await seed_due_reminders(store, chat_ids, midday_zone())
        finally:
            await store.aclose()

    asyncio.run(seed())


def reminders_per_chat(emulator: EmulatorThread) -> dict[int, int]:
    def count() -> dict[int, int]:
        counts: dict[int, int] = {}
        for message in emulator.emulator.sent():
            if MARKER_ADDRESS in message.text and not message.edited:
                counts[message.chat_id] = counts.get(message.chat_id, 0) + 1
        return counts

    return emulator.call(count)


def reminder_key(store: Store) -> str:
    """The delivery-log key of the test protest's reminder: the day's message ("d:<date>"),
    one a chat and day. StopIteration if nothing is logged yet."""
    return next(
        k for k in store.deliveries.days() if k.startswith("d:") or "reliability-test" in k
    )


def reminder_rows(store: Store) -> dict[int, str]:
    return store.deliveries.rows(reminder_key(store))


def reminder_rows_or_empty(data_dir: Path, store: Store | None = None) -> dict[int, str]:
    """The test reminder's delivery log as the files hold it now (none yet: empty)."""
    try:
        store = store or Store.open(data_dir, read_only=True)
        return reminder_rows(store)
    except StopIteration:
        return {}
