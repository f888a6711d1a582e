"""Shared fixtures: a local Bot API emulator on 127.0.0.1 and the real Application polling it
over real HTTP. No part of python-telegram-bot is mocked.

Any request the bot sends that the real Telegram would reject (unknown method, missing
parameter, text over 4096 characters, callback data over 64 bytes, malformed HTML...) is
recorded by the emulator, and the ``emulator`` fixture fails the test that caused it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import build_application, start_application, stop_application
from bot.config import Config
from bot.content.loading import CONTENT_DIR, load_content
from bot.content.schema import Content
from emulator import Emulator

TOKEN = "123456:TEST-token-ABCDEFGHIJKLMNOPQRSTUV"
ADMIN_ID = 1000
BOT_USERNAME = "zhanaozen_test_bot"


_loaded: dict[tuple[Path, bytes], Content] = {}


def load_content_once(root: Path = CONTENT_DIR) -> Content:
    """``load_content``, parsed and checked once a session for each version of the files: every
    Application a test starts loads the content, which is most of its start. The key is every
    YAML file's path and bytes, so a test that edits content (a copy, with ``content_dir``)
    gets its edit; a load that fails is not kept, and fails again."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.yaml")):
        name, data = str(path.relative_to(root)).encode(), path.read_bytes()
        digest.update(b"%d:%s%d:%s" % (len(name), name, len(data), data))
    key = (root.resolve(), digest.digest())
    if key not in _loaded:
        _loaded[key] = load_content(root)
    loaded = _loaded[key]
    return Content(  # the models are frozen; the tables are the caller's own
        sources=dict(loaded.sources),
        cards=dict(loaded.cards),
        events=dict(loaded.events),
        glossary=list(loaded.glossary),
        files=dict(loaded.files),
    )


@pytest.fixture(scope="session", autouse=True)
def _content_loaded_once() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("bot.app.load_content", load_content_once)
        yield


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(username=BOT_USERNAME) as emu:
        yield emu
        assert not emu.violations, f"requests the Bot API would reject: {emu.violations}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def config(emulator: Emulator, data_dir: Path) -> Config:
    return make_config(emulator, data_dir)


def make_config(emulator: Emulator, data_dir: Path, **overrides) -> Config:
    values = dict(
        token=TOKEN, api_url=emulator.root_url, data_dir=data_dir, admin_ids=frozenset({ADMIN_ID})
    )
    values.update(overrides)
    return Config(**values)


@contextlib.asynccontextmanager
async def running_bot(config: Config):
    """The real Application, started as run_polling would start it, stopped cleanly after."""
    application = build_application(config)
    await start_application(application, poll_timeout=1)
    try:
        yield application
    finally:
        await stop_application(application)


@pytest.fixture
async def app(config: Config):
    async with running_bot(config) as application:
        yield application


@pytest.fixture(autouse=True)
def _no_token_in_logs(caplog: pytest.LogCaptureFixture):
    """Every test doubles as a check that the token never reaches a log record."""
    caplog.set_level(logging.DEBUG)
    yield
    # The bot logs at INFO (bot.logs.configure_logging); PTB's own DEBUG lines name the Bot
    # API URL, and the redacting filter on the bot's handlers would catch them even there.
    secret = TOKEN.split(":", 1)[1]
    leaked = [
        r.getMessage()
        for r in every_record(caplog)
        if r.levelno >= logging.INFO and secret in r.getMessage()
    ]
    assert not leaked, f"token leaked into logs: {leaked[:1]}"


@pytest.fixture(autouse=True)
def _no_error_logged(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture):
    """An ERROR log record fails the test: a handler that raised must not pass because the
    user got an apology. Tests that provoke errors on purpose say so with
    ``@pytest.mark.allow_errors("why")``."""
    caplog.set_level(logging.DEBUG)
    yield
    if request.node.get_closest_marker("allow_errors"):
        return
    errors = [
        f"{r.name}: {r.getMessage()}" for r in every_record(caplog) if r.levelno >= logging.ERROR
    ]
    assert not errors, f"ERROR logged during the test: {errors[:3]}"


def every_record(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Setup, call and teardown so far: ``caplog.records`` alone is only the current phase,
    which in a fixture's teardown is the teardown."""
    return [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
