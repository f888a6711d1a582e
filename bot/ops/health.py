"""Is the bot alive? Heartbeats from the polling loop and the reminder job, checked from outside.

A bot that runs but no longer polls, or whose reminder job has stopped, looks fine to a process
supervisor; on 16 December that is the worst way to fail. So each part that must keep going
touches a small file in the data directory when it has done its work:

- ``polling``: every successful ``getUpdates`` answer (about every 10 s when idle);
- ``reminders``: every run of the reminder planning job (every 10 minutes).

``python -m bot health`` (the image's HEALTHCHECK and the systemd health timer use it) reads those
files from another process and exits non-zero when one is stale. In webhook mode there is no
polling loop; the bot answers ``GET /healthz`` on its port instead, with the same verdict.
``BOT_HEARTBEAT_URL`` (a dead-man's switch such as healthchecks.io) is pinged every few
minutes while, and only while, the check passes.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from telegram.ext import Application
    from telegram.request import HTTPXRequest
    from tornado.web import RequestHandler

    from bot.config import Config
    from bot.context import BotContext

log = logging.getLogger(__name__)

POLLING = "polling"
REMINDERS = "reminders"
STALE_AFTER = {POLLING: 120.0, REMINDERS: 25 * 60.0}
"""Seconds without a beat before a part counts as stopped: polling answers at least every
poll timeout (10 s) plus network time; the reminder planning job runs every 10 minutes."""
BEAT_EVERY = 10.0
"""A busy bot gets many getUpdates answers a second: the file is touched at most this often."""
PING_EVERY = 300.0
"""Seconds between pings of BOT_HEARTBEAT_URL; set the dead-man's switch's period to 5 min
and its grace to 10."""
HEALTHZ_PATH = "/healthz"


def beat_path(data_dir: Path, part: str) -> Path:
    return Path(data_dir) / f".heartbeat-{part}"


_last_beat: dict[Path, float] = {}


def beat(data_dir: Path, part: str, *, force: bool = False) -> None:
    """Record that ``part`` did its work now (cheap: at most one small write per BEAT_EVERY)."""
    path = beat_path(data_dir, part)
    now = time.time()
    if not force and now - _last_beat.get(path, float("-inf")) < BEAT_EVERY:
        return
    try:
        path.touch(mode=0o600)
        os.utime(path, (now, now))
    except OSError as exc:  # a full disk must not stop the bot; the check will notice
        log.warning("could not write the %s heartbeat: %s", part, exc.strerror or exc)
        return
    _last_beat[path] = now


@dataclass(frozen=True, slots=True)
class Verdict:
    problems: tuple[str, ...]
    ages: dict[str, float | None]

    @property
    def healthy(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            return "unhealthy: " + "; ".join(self.problems)
        ages = ", ".join(
            f"{part} {age:.0f}s ago" for part, age in self.ages.items() if age is not None
        )
        return f"healthy: last beats {ages}"


def check(data_dir: Path, *, polling: bool = True, now: float | None = None) -> Verdict:
    """Every required part beat recently; ``polling`` is False in webhook mode."""
    now = time.time() if now is None else now
    parts = [POLLING, REMINDERS] if polling else [REMINDERS]
    problems: list[str] = []
    ages: dict[str, float | None] = {}
    for part in parts:
        try:
            age = now - beat_path(data_dir, part).stat().st_mtime
        except FileNotFoundError:
            ages[part] = None
            problems.append(f"no {part} heartbeat yet (is the bot running?)")
            continue
        ages[part] = age
        if age > STALE_AFTER[part]:
            what = "the polling loop" if part == POLLING else "the reminder job"
            problems.append(f"{what} has not run for {age:.0f}s (limit {STALE_AFTER[part]:.0f}s)")
    return Verdict(tuple(problems), ages)


def main(config: Config) -> int:
    """``python -m bot health``: one line, exit 0 when healthy, 1 otherwise."""
    verdict = check(config.data_dir, polling=not config.webhook_url)
    print(verdict.summary())
    return 0 if verdict.healthy else 1


def polling_request(data_dir: Path) -> HTTPXRequest:
    """The request object of ``getUpdates`` alone: each answer Telegram gives is a beat.

    Built here rather than at import: ``python -m bot health`` runs every 30 s and needs
    none of PTB or httpx.
    """
    from telegram.request import HTTPXRequest

    class PollingRequest(HTTPXRequest):
        async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
            code, payload = await super().do_request(*args, **kwargs)
            if code == 200:
                beat(data_dir, POLLING)
            return code, payload

    from bot.telegram.transport import tls_context

    # PTB's own pool size for getUpdates; the bot's one TLS context (bot.telegram.transport).
    return PollingRequest(connection_pool_size=1, httpx_kwargs={"verify": tls_context()})


def install(application: Application) -> None:
    """Start the watchers: the dead-man's switch (``/healthz`` is ``bot.webhook``'s)."""
    mark_started(application)
    config = application.bot_data.config
    queue = application.job_queue
    if config.heartbeat_url:
        assert queue is not None  # python-telegram-bot[job-queue] is a dependency
        queue.run_repeating(_ping_job, interval=PING_EVERY, first=60, name="health:ping")


async def _ping_job(context: BotContext) -> None:
    import httpx

    config = context.config
    if not config.heartbeat_url:  # the job runs only when it is set
        return
    verdict = check(config.data_dir, polling=not config.webhook_url)
    if not verdict.healthy:
        log.warning("not pinging BOT_HEARTBEAT_URL: %s", verdict.summary())
        return
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            response = await client.get(config.heartbeat_url)
        if response.status_code >= 400:
            log.warning("BOT_HEARTBEAT_URL answered HTTP %d", response.status_code)
    except httpx.HTTPError as exc:
        log.warning("could not ping BOT_HEARTBEAT_URL: %s", exc.__class__.__name__)


def healthz_handler() -> type[RequestHandler]:
    """The tornado handler of ``/healthz`` (served by ``bot.webhook`` in webhook mode)."""
    import tornado.web

    class HealthzHandler(tornado.web.RequestHandler):
        def initialize(self, data_dir: Path) -> None:
            self.data_dir = data_dir

        def get(self) -> None:
            verdict = check(self.data_dir, polling=False)
            self.set_status(200 if verdict.healthy else 503)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(verdict.summary() + "\n")

    return HealthzHandler


# A second instance ---------------------------------------------------------------------------

SECOND_INSTANCE_EXIT = 3
SECOND_INSTANCE_MESSAGE = (
    "Another instance of this bot is polling Telegram with the same token (409 Conflict): "
    "stopping this one. Run exactly one (one container, one worker dyno, one service); two "
    "would split the subscribers between two disks."
)
YOUNG_FOR = 30.0
"""Seconds after start during which a 409 means "I am the second instance": Telegram ends
the older poll when a newer one arrives, so the running bot sees the first 409, and the
newcomer sees the next one within a few seconds, when the running bot polls again."""
_refused: weakref.WeakSet = weakref.WeakSet()
_started: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def mark_started(application: Application) -> None:
    _started[application] = time.monotonic()


async def on_conflict(application: Application) -> None:
    """409 Conflict: a newcomer says so in one line and stops, instead of running deaf while
    the other one polls; the instance already serving keeps serving and tells the admins."""
    if application in _refused:
        return
    started = _started.get(application)
    if started is None or time.monotonic() - started < YOUNG_FOR:
        _refused.add(application)
        log.critical(SECOND_INSTANCE_MESSAGE)
        if application.running:
            application.stop_running()
        return
    log.warning(
        "another instance of this bot tried to poll with the same token (409 "
        "Conflict); this one keeps serving"
    )
    from bot.ops import alerts

    await alerts.report_second_instance(application)


def was_refused(application: Application) -> bool:
    """The exit code should say that this instance stopped because of another one."""
    return application in _refused
