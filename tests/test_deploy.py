"""Running in production: heartbeats and ``python -m bot health``, the ephemeral-disk warning,
``BOT_RESTORE_FROM``, daily snapshots and their retention, a second instance (409), and the
admins' error reports. The container itself is tested by ``make smoke`` (deploy/smoke_test.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import time_machine
from bot_process import (
    ROOT,
    BotProcess,
    bot_env,
    emulator_thread,
    prepare_fan_out,
    wait_polling,
    wait_until,
)
from chat import say
from conftest import ADMIN_ID, TOKEN, make_config, running_bot

from bot.ops import alerts, backups, health
from bot.store.models import ChatSettings
from bot.store.repository import Store
from bot.store.snapshots import backup
from bot.telegram.budget import RETRY_DELAYS

USER = 777


def run_health(data_dir: Path, **extra: str) -> subprocess.CompletedProcess:
    env = bot_env("http://127.0.0.1:9", data_dir, **extra)
    return subprocess.run(
        [sys.executable, "-m", "bot", "health"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


# Heartbeats and `python -m bot health` ---------------------------------------------------------


async def test_health_fails_when_the_reminder_job_stops(app, emulator, data_dir):
    polling = health.beat_path(data_dir, health.POLLING)
    reminders = health.beat_path(data_dir, health.REMINDERS)
    await emulator.wait_for(
        lambda: polling.exists() and reminders.exists(), timeout=30, what="both heartbeats"
    )
    assert polling.exists(), "the polling loop wrote no heartbeat"
    assert reminders.exists(), "the reminder job wrote no heartbeat"

    ok = await asyncio.to_thread(run_health, data_dir)
    assert ok.returncode == 0 and ok.stdout.startswith("healthy"), ok.stdout + ok.stderr

    age(reminders, health.STALE_AFTER[health.REMINDERS] + 60)  # the job stopped running
    stale = await asyncio.to_thread(run_health, data_dir)
    assert stale.returncode == 1, stale.stdout
    assert "reminder job has not run" in stale.stdout

    age(reminders, 0)
    age(polling, health.STALE_AFTER[health.POLLING] + 60)  # the polling loop stopped
    stale = await asyncio.to_thread(run_health, data_dir)
    assert stale.returncode == 1 and "polling loop has not run" in stale.stdout


def test_health_without_any_heartbeat_fails(tmp_path):
    result = run_health(tmp_path)
    assert result.returncode == 1 and "no polling heartbeat" in result.stdout


def test_webhook_mode_needs_no_polling_heartbeat(tmp_path):
    health.beat(tmp_path, health.REMINDERS, force=True)
    assert not health.check(tmp_path).healthy
    assert health.check(tmp_path, polling=False).healthy


# The ephemeral disk --------------------------------------------------------------------------


def test_platforms_that_wipe_the_disk(tmp_path):
    data = tmp_path / "data"
    root_only = ["/"]
    volume = ["/", str(tmp_path)]
    assert backups.ephemeral_platform(data, {"DYNO": "worker.1"}, volume) == "Heroku"
    assert backups.ephemeral_platform(data, {"RENDER": "true"}, root_only) == "Render"
    assert backups.ephemeral_platform(data, {"RENDER": "true"}, volume) is None
    assert backups.ephemeral_platform(data, {"FLY_APP_NAME": "x"}, root_only) == "Fly.io"
    assert backups.ephemeral_platform(data, {"FLY_APP_NAME": "x"}, volume) is None
    railway = {"RAILWAY_ENVIRONMENT": "production"}
    assert backups.ephemeral_platform(data, railway, root_only) == "Railway"
    assert (
        backups.ephemeral_platform(
            data, {**railway, "RAILWAY_VOLUME_MOUNT_PATH": str(tmp_path)}, root_only
        )
        is None
    )
    assert backups.ephemeral_platform(data, {}, root_only) is None  # a server of one's own


async def test_ephemeral_disk_is_named_in_stats(emulator, data_dir, monkeypatch):
    monkeypatch.setenv("DYNO", "worker.1")
    async with running_bot(make_config(emulator, data_dir)):
        answer = await say(emulator, ADMIN_ID, "/stats")
    assert "Heroku's temporary disk" in answer.text
    assert "Daily snapshot: none yet" in answer.text


def start_poll_and_stop(tmp_path: Path, data_dir: Path, **env: str) -> BotProcess:
    """A real bot process with ``env``, started until it polls, then stopped cleanly."""
    with emulator_thread() as emulator:
        bot = BotProcess(emulator.emulator.root_url, data_dir, tmp_path / "bot.log", **env)
        try:
            bot.start()
            wait_polling(emulator, bot)
            assert bot.terminate() == 0
        finally:
            bot.cleanup()
    return bot


def test_ephemeral_disk_is_logged_at_start(tmp_path):
    bot = start_poll_and_stop(tmp_path, tmp_path / "data", DYNO="worker.1")
    assert "WARNING" in bot.log() and "on Heroku's temporary disk" in bot.log()


# BOT_RESTORE_FROM ------------------------------------------------------------------------------


def snapshot_with_subscriber(tmp_path: Path, chat_id: int) -> Path:
    source = tmp_path / "old-data"

    async def seed() -> None:
        store = Store.open(source)
        try:
            await store.put_chat(
                ChatSettings(chat_id, "private", "ru", "Asia/Almaty", subscribed=True)
            )
        finally:
            await store.aclose()

    asyncio.run(seed())
    return backup(source, tmp_path / "snapshot.json")


def test_restore_from_fills_an_empty_data_dir(tmp_path):
    snapshot = snapshot_with_subscriber(tmp_path, 4321)
    data_dir = tmp_path / "data"
    bot = start_poll_and_stop(tmp_path, data_dir, BOT_RESTORE_FROM=str(snapshot))
    store = Store.open(data_dir, read_only=True)
    chat = store.chat(4321)
    assert chat is not None and chat.subscribed and chat.timezone == "Asia/Almaty"
    assert "restored the snapshot" in bot.log()


def test_restore_from_leaves_existing_data_alone(tmp_path):
    snapshot = snapshot_with_subscriber(tmp_path, 4321)
    data_dir = tmp_path / "data"
    snapshot_with_subscriber(tmp_path / "current", 99)
    (tmp_path / "current" / "old-data").rename(data_dir)
    config = make_config_for(data_dir, restore_from=str(snapshot))
    assert backups.restore_if_empty(config) is False
    store = Store.open(data_dir, read_only=True)
    assert store.chat(99) is not None and store.chat(4321) is None


def test_a_bad_restore_from_stops_the_start(tmp_path):
    bad = tmp_path / "snapshot.json"
    bad.write_text("{not json")
    data_dir = tmp_path / "data"
    bot = BotProcess(
        "http://127.0.0.1:9", data_dir, tmp_path / "bot.log", BOT_RESTORE_FROM=str(bad)
    )
    result = bot.run()
    assert result.returncode == 2
    assert "Restore error, the bot did not start" in result.stderr
    assert not backups.has_data(data_dir), "it must not start on an empty store instead"


def make_config_for(data_dir: Path, **overrides):
    from bot.config import Config

    return Config(token=TOKEN, data_dir=data_dir, **overrides)


# Daily snapshots and retention ---------------------------------------------------------------


def test_daily_snapshots_keep_7_days_and_4_weeks(tmp_path):
    data_dir = tmp_path / "data"
    snapshot_with_subscriber(tmp_path, 1)
    (tmp_path / "old-data").rename(data_dir)
    config = make_config_for(data_dir, backup_dir=tmp_path / "backups")
    start = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)  # a Tuesday
    for hour in range(0, 24 * 60, 1):  # the hourly check, for 60 days
        with time_machine.travel(start + timedelta(hours=hour), tick=False):
            backups.snapshot_if_due(config)
    kept = [when for when, _ in backups.snapshots(tmp_path / "backups")]
    end = start + timedelta(days=60)
    days = {when.date() for when in kept}
    weeks = {when.isocalendar()[:2] for when in kept}
    last_7 = {(end - timedelta(days=n)).date() for n in range(1, 8)}
    assert last_7 <= days, "one snapshot for each of the last 7 days"
    assert len(weeks) == 4 and len(kept) <= 7 + 4
    assert len(kept) == len(days), "never two snapshots of one day"
    assert min(kept) >= end - timedelta(weeks=4, days=7)


def test_retention_rule():
    base = datetime(2026, 11, 30, 3, tzinfo=UTC)
    times = [base - timedelta(hours=12 * n) for n in range(100)]  # two a day for 50 days
    keep = backups.to_keep(times)
    assert base in keep
    assert len({t.date() for t in keep if t > base - timedelta(days=7)}) == 7
    assert len({t.isocalendar()[:2] for t in keep}) == 4
    assert len(keep) <= 11


# A second instance -------------------------------------------------------------------------------


def test_second_instance_exits_with_a_clear_line(tmp_path):
    with emulator_thread() as emulator:
        bot = BotProcess(emulator.emulator.root_url, tmp_path / "data", tmp_path / "bot.log")
        try:
            bot.start()
            wait_polling(emulator, bot)
            # Another process polls with the same token (on another disk, so no lock sees it).
            for _ in range(3):
                httpx.post(f"{emulator.emulator.base_url}{TOKEN}/getUpdates", timeout=10)
                if not bot.running:
                    break
                time.sleep(0.5)
            wait_until(lambda: not bot.running, 20, "the bot to exit")
        finally:
            bot.cleanup()
    assert bot.returncode == health.SECOND_INSTANCE_EXIT
    lines = [line for line in bot.log().splitlines() if "Another instance" in line]
    assert len(lines) == 1, bot.log()[-2000:]
    assert "Traceback" not in bot.log()


async def test_the_instance_already_serving_keeps_serving(app, emulator):
    health._started[app] = time.monotonic() - health.YOUNG_FOR - 1
    await health.on_conflict(app)
    assert app.running and not health.was_refused(app)
    message = await emulator.next_message(ADMIN_ID)
    assert "second copy of this bot" in message.text


# Reports to the admins -------------------------------------------------------------------------


def test_throttle_once_per_kind_per_hour():
    throttle = alerts.Throttle()
    assert throttle.admit("KeyError", now=0) == 0
    assert throttle.admit("KeyError", now=10) is None
    assert throttle.admit("KeyError", now=3000) is None
    assert throttle.admit("ValueError", now=3000) == 0  # another kind is not held back
    assert throttle.admit("KeyError", now=3601) == 2  # and says how many were held back
    assert throttle.admit("KeyError", now=3602) is None


@pytest.mark.allow_errors("a reply that fails every attempt is an unhandled error")
async def test_unhandled_errors_reach_the_admins_once_an_hour(app, emulator):
    # A server error on a reply is retried (bot.telegram.budget.RETRY_DELAYS): fail
    # every attempt.
    attempts = 1 + len(RETRY_DELAYS["reply"])
    emulator.inject("sendMessage", "500", chat_id=USER, times=attempts)
    emulator.user_message(USER, "/start", user_id=USER)
    report = await emulator.next_message(ADMIN_ID)
    assert "Error (handling a user's request): NetworkError" in report.text
    assert str(USER) not in report.text and "/start" not in report.text
    apology = await emulator.next_message(USER)
    assert "something went wrong" in apology.text
    emulator.inject("sendMessage", "500", chat_id=USER, times=attempts)
    before = len(emulator.sent(ADMIN_ID))
    await say(emulator, USER, "/start")  # fails the same way
    await asyncio.sleep(0.5)
    assert len(emulator.sent(ADMIN_ID)) == before, "a second report within the hour"


async def test_failed_fan_out_is_reported_without_chat_ids(emulator, data_dir):
    chats = [9001, 9002, 9003]
    await asyncio.to_thread(prepare_fan_out, data_dir, chats)
    emulator.inject("sendMessage", "400", chat_id=9002, times=10)
    async with running_bot(make_config(emulator, data_dir)):
        report = await emulator.next_message(ADMIN_ID, timeout=60)
    assert "Reminders: messages not delivered: 1, delivered: 2" in report.text
    assert not any(str(chat) in report.text for chat in chats)


@pytest.fixture(autouse=True)
def _fresh_heartbeats():
    health._last_beat.clear()
    yield


# Platforms -----------------------------------------------------------------------------------


def test_serve_without_a_token_is_an_error_not_a_sandbox(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOT_")}
    env["BOT_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2 and "BOT_TOKEN is not set" in result.stderr


def test_a_heroku_web_dyno_must_serve_a_webhook(tmp_path):
    from bot.config import ConfigError, load_config

    env = {"BOT_TOKEN": TOKEN, "BOT_DATA_DIR": str(tmp_path), "DYNO": "web.1", "PORT": "5000"}
    with pytest.raises(ConfigError, match="BOT_WEBHOOK_URL must be set on a Heroku web dyno"):
        load_config(env)
    assert load_config({**env, "DYNO": "worker.1"}).webhook_url is None
    assert load_config({**env, "BOT_WEBHOOK_URL": "https://x.example"}).port == 5000


def test_every_variable_is_in_env_example():
    config_source = (ROOT / "bot" / "config.py").read_text()
    names = set(re.findall(r'env\.get\("([A-Z_]+)"', config_source))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", example, flags=re.MULTILINE))
    assert names - {"DYNO"} <= documented, names - documented


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webhook_mode_answers_healthz(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"

    def healthz() -> httpx.Response | None:
        try:
            return httpx.get(url, timeout=5)
        except httpx.HTTPError:
            return None

    with emulator_thread() as emulator:
        bot = BotProcess(
            emulator.emulator.root_url,
            tmp_path / "data",
            tmp_path / "bot.log",
            BOT_WEBHOOK_URL="https://bot.example.org",
            PORT=str(port),
        )
        try:
            bot.start()
            response = wait_until(
                lambda: healthz() or (not bot.running and "exited"),
                60,
                "/healthz to answer",
                poll=0.2,
            )
            assert response != "exited", bot.log()[-2000:]
            response = wait_until(
                lambda: (r := healthz()) and r.status_code == 200 and r,
                30,
                "/healthz to say healthy",
                poll=0.2,
            )
            assert response.text.startswith("healthy")
            age(
                health.beat_path(tmp_path / "data", health.REMINDERS),
                health.STALE_AFTER[health.REMINDERS] + 60,
            )
            stale = healthz()
            assert stale is not None and stale.status_code == 503, stale
            assert bot.terminate() == 0
        finally:
            bot.cleanup()


# The dead-man's switch ---------------------------------------------------------------------------


async def test_heartbeat_url_is_pinged_only_while_healthy(emulator, data_dir):
    import http.server
    import threading

    pings: list[str] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            pings.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/ping/abc"
    try:
        config = make_config(emulator, data_dir, heartbeat_url=url)
        async with running_bot(config) as application:
            await emulator.wait_for(
                lambda: health.check(data_dir).healthy, timeout=30, what="a healthy bot"
            )
            (job,) = application.job_queue.get_jobs_by_name("health:ping")
            await job.run(application)
            assert pings == ["/ping/abc"]
            age(
                health.beat_path(data_dir, health.REMINDERS),
                health.STALE_AFTER[health.REMINDERS] + 60,
            )
            await job.run(application)
            assert pings == ["/ping/abc"], "pinged although the reminder job had stopped"
    finally:
        server.shutdown()


# The lock files ----------------------------------------------------------------------------------


def test_lock_files_pin_every_declared_dependency():
    """A dependency added to pyproject.toml without `make lock` would be missing from the
    image, from Heroku and from CI (they install only the lock files)."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    def pinned(path: Path) -> set[str]:
        names = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", path.read_text(), re.MULTILINE)
        return {canonicalize_name(name) for name in names}

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    test = {
        canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["test"]
    }
    assert runtime <= pinned(ROOT / "requirements.txt"), "run `make lock`"
    assert runtime | test <= pinned(ROOT / "requirements-test.txt"), "run `make lock`"
