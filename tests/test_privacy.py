"""Privacy: what reaches the disk and the logs.

The files are read raw, byte for byte, after the bot has stopped: a name or a message that
slipped into any table, backup or temporary file is found whatever the code meant to do.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import orjson
from bot_process import BotProcess, emulator_thread, wait_until
from conftest import ADMIN_ID, BOT_USERNAME, TOKEN, make_config, running_bot

from bot.store.repository import Store
from emulator import Emulator

USER = 424_242
GROUP = -1_009_090_123
FIRST, LAST, USERNAME = "Zhuldyzai", "Secretkyzy", "zhuldyz_hidden_77"
GROUP_TITLE = "Circle of Trusted Friends 1917"
TYPED = "whispered MARKER-8c1f Жанаозен-тайна 🕯"
CORRECTION = "CORRECTION-7a2e my cousin was there"
INLINE = "INLINE-5d0b query"
SECRETS = (
    FIRST,
    LAST,
    USERNAME,
    GROUP_TITLE,
    "MARKER-8c1f",
    "Жанаозен-тайна",
    "CORRECTION-7a2e",
    "INLINE-5d0b",
)
CHAT_KEYS = frozenset("tlzhsocd")
"""The one-letter keys of a chat document: type, language, zone, hour, subscribed, topics,
cities, days (see bot.store.models.encode_settings). Anything else is a field nobody
agreed to."""


def data_files(data_dir: Path) -> list[Path]:
    return sorted(path for path in data_dir.rglob("*") if path.is_file())


def encodings(value: str) -> list[bytes]:
    """How a string can look inside a file: raw UTF-8, or JSON with \\u escapes."""
    return [value.encode(), json.dumps(value)[1:-1].encode(), value.lower().encode()]


def files_containing(data_dir: Path, value: str) -> list[str]:
    found = []
    for path in data_files(data_dir):
        raw = path.read_bytes()
        if any(form in raw or form in raw.lower() for form in encodings(value)):
            found.append(path.name)
    return found


async def ask(
    emulator: Emulator,
    chat_id: int,
    text: str,
    *,
    user_id: int | None = None,
    language: str = "en",
):
    emulator.user_message(chat_id, text, user_id=user_id, language_code=language)
    return await emulator.next_message(chat_id)


async def press(
    emulator: Emulator, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
):
    """Press a button and return the one message (or edit) the bot answers with."""
    update_id = emulator.press(chat_id, message_id, data, user_id=user_id, strict=False)
    await emulator.wait_callback_answer(update_id)
    return await emulator.next_message(chat_id)


async def private_session(emulator: Emulator) -> None:
    """Everything a curious user does: search, subscribe, settings, a correction, inline."""
    emulator.add_user(USER, first_name=FIRST, last_name=LAST, username=USERNAME)
    await ask(emulator, USER, "/start")
    await ask(emulator, USER, TYPED)
    await ask(emulator, USER, f"/prisoner {TYPED}")
    panel = await ask(emulator, USER, "/subscribe")
    for data in ("rs:topic:dec16", "rs:hour:9", "rs:tz:almaty", "rs:city:london"):
        await press(emulator, USER, panel.message_id, data, user_id=USER)
    await press(emulator, USER, panel.message_id, "rs:tzother", user_id=USER)
    await ask(emulator, USER, "Asia/Tashkent")
    card = await ask(emulator, USER, "/prisoner Tuletaeva")
    fix = next(
        b["callback_data"] for b in card.buttons if b.get("callback_data", "").startswith("fix:")
    )
    await press(emulator, USER, card.message_id, fix, user_id=USER)
    await ask(emulator, USER, CORRECTION)
    update_id = emulator.inline_query(USER, INLINE)
    await emulator.wait_inline_answer(update_id)
    language = await ask(emulator, USER, "/language")
    await press(emulator, USER, language.message_id, "lang:ru", user_id=USER)


async def group_session(emulator: Emulator) -> None:
    emulator.bot_added_to_group(GROUP, USER, chat_type="supergroup", title=GROUP_TITLE)
    await emulator.next_message(GROUP)
    emulator.set_admin(GROUP, USER)
    await ask(emulator, GROUP, f"/subscribe@{BOT_USERNAME}", user_id=USER)
    await ask(emulator, GROUP, f"/card@{BOT_USERNAME} {TYPED}", user_id=USER)


async def test_files_hold_no_names_usernames_or_text(emulator, config, caplog):
    async with running_bot(config) as app:
        await private_session(emulator)
        await group_session(emulator)
        assert app.bot_data.store.chat(USER).timezone == "Asia/Tashkent"
    assert emulator.sent(ADMIN_ID), "the correction reached the editors (and only them)"

    files = data_files(config.data_dir)
    assert any(path.name == "chats.json" for path in files)
    for secret in SECRETS:
        assert files_containing(config.data_dir, secret) == [], secret

    chats = orjson.loads((config.data_dir / "chats.json").read_bytes())
    documents = [
        doc for name, table in chats.items() if name != "_store" for doc in table.values()
    ]
    assert len(documents) == 2
    for document in documents:
        assert set(document) <= CHAT_KEYS, document
        assert all(isinstance(value, str | int) for value in document.values()), document

    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} was logged"


async def test_forget_erases_the_chat_id_from_every_file(emulator, config):
    other = 555_001
    async with running_bot(config) as app:
        store = app.bot_data.store
        await ask(emulator, USER, "/subscribe")
        await ask(emulator, other, "/subscribe")
        await store.deliveries.set(
            [
                ("e:test-event:1", USER, "sent"),
                ("e:test-event:1", other, "sent"),
                ("a:zhanaozen-massacre:2026:7", USER, "uncertain"),
                ("e:test-event:1", GROUP, "sent"),
            ]
        )
        emulator.bot_added_to_group(GROUP, USER, chat_type="supergroup")
        await emulator.next_message(GROUP)
        emulator.set_admin(GROUP, USER)
        await ask(emulator, GROUP, f"/subscribe@{BOT_USERNAME}", user_id=USER)
        language = await ask(emulator, USER, "/language")
        await press(emulator, USER, language.message_id, "lang:ru", user_id=USER)
        assert files_containing(config.data_dir, str(USER)), "the test must start with the id"

        for chat_id, command in ((USER, "/forget"), (GROUP, f"/forget@{BOT_USERNAME}")):
            question = await ask(emulator, chat_id, command, user_id=USER)
            done = await press(emulator, chat_id, question.message_id, "rs:forgetok", user_id=USER)
            assert done.edited
            assert store.chat(chat_id) is None
        assert store.chat(other) is not None
        assert store.deliveries.rows("e:test-event:1") == {other: "sent"}

    for chat_id in (USER, GROUP):
        assert files_containing(config.data_dir, str(chat_id)) == [], chat_id
    assert files_containing(config.data_dir, str(other)), "forget erased someone else"
    reopened = Store.open(config.data_dir, read_only=True)
    assert reopened.chat(USER) is None and reopened.chat(other) is not None


async def test_data_files_are_private_to_the_owner(emulator, tmp_path):
    data_dir = tmp_path / "fresh" / "data"  # the bot creates it
    config = make_config(emulator, data_dir)
    old_umask = os.umask(0)  # the most permissive umask: the bot must not rely on one
    try:
        async with running_bot(config) as app:
            await ask(emulator, USER, "/subscribe")
            await app.bot_data.store.deliveries.set([("e:test-event:1", USER, "sent")])
            await ask(emulator, USER, "/unsubscribe")
        bot = BotProcess(emulator.root_url, data_dir, tmp_path / "backup.log")
        result = bot.run("backup")
        assert result.returncode == 0, result.stderr
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    files = data_files(data_dir)
    assert {"chats.json", "deliveries.json", "events.json", "content.json"} <= {
        p.name for p in files
    }
    assert any(p.parent.name == "backups" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (p for p in data_dir.rglob("*") if p.is_dir()):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_token_never_in_the_output_of_a_real_process(tmp_path):
    """Every log line of ``python -m bot``, including tracebacks, under faults and errors."""
    log_path = tmp_path / "bot.log"
    with emulator_thread() as emulator:
        bot = BotProcess(emulator.root_url, tmp_path / "data", log_path)
        bot.start()
        try:
            emulator.user_message(USER, "/start")
            emulator.next_message(USER, timeout=60)
            emulator.inject("sendMessage", "500", times=1)  # a handler fails: a traceback
            emulator.user_message(USER, "/help")
            emulator.next_message(USER, timeout=30)  # the apology
            emulator.inject("getUpdates", "500", times=2)  # polling errors are logged
            emulator.inject("sendMessage", "429", times=1)
            emulator.inject("answerCallbackQuery", "400", times=1)
            emulator.user_message(USER, "/subscribe")
            panel = emulator.next_message(USER, timeout=30)
            emulator.press(USER, panel.message_id, "rs:hour:9", user_id=USER, strict=False)
            emulator.user_message(USER, "/settings")
            wait_until(
                lambda: any("Time: 09:00" in m.text for m in emulator.sent(USER)),
                30,
                "the settings after the faults",
            )
            assert bot.terminate() == 0
        finally:
            bot.cleanup()
    assert "update failed" in bot.log(), "the run must have logged a traceback to search"

    with emulator_thread(token="999999:OTHER-token-ABCDEFGHIJKLMNOPQRSTUV") as emulator:
        rejected = BotProcess(emulator.root_url, tmp_path / "data", log_path).run()
    assert rejected.returncode == 2
    assert "BOT_TOKEN was rejected" in rejected.stderr

    unreachable = BotProcess("http://127.0.0.1:9", tmp_path / "data", log_path).run()
    assert unreachable.returncode != 0

    output = "\n".join(
        [bot.log(), rejected.stdout, rejected.stderr, unreachable.stdout, unreachable.stderr]
    )
    secret = TOKEN.split(":", 1)[1]
    assert secret not in output, "the token reached the process output"
    assert files_containing(tmp_path / "data", secret) == []
    for name in (FIRST, USERNAME):
        assert name not in output
