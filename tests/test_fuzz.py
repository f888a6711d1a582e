"""Hostile input, generated: every update goes through the real bot over real HTTP.

One emulator and one bot per test, on an event loop the test owns; hypothesis drives short
sequences of updates against them (state carries over, as it does for a real bot). After each
update the bot must have finished it without an error log, sent only requests Telegram would
accept (the emulator checks), answered every button press, escaped the user's text, and
spoken the language of the chat (its saved choice, else the user's app).

The strategies are in ``tests/fuzzing.py``; ``bench/fuzz_long.py`` runs them for 10,000+
examples.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from conftest import ADMIN_ID, BOT_USERNAME, make_config
from fuzzing import (
    ACTIONS,
    ADMIN_FANOUTS,
    GROUP_ADMIN,
    GROUP_MEMBER,
    GROUP_POOL,
    GROUP_TYPES,
    ODD_CHAT,
    ODD_CHAT_BASE,
    PRIVATE_USERS,
    Action,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.app import build_application, start_application, stop_application
from bot.content.cards import NOT_TRANSLATED
from bot.handlers import ALLOWED_UPDATES
from bot.handlers.admission import FairUpdates
from bot.i18n import LANGUAGES as BOT_LANGUAGES
from bot.i18n import LOCALES_DIR, card_fallback, pick_language, translator
from bot.telegram.fairness import Admission, Rate
from emulator import BotMessage, Emulator

SENTINEL_ENTITIES = frozenset({"underline", "strikethrough"})
"""The bot never formats with <u> or <s>: such an entity means user text went out unescaped."""
UNLIMITED = Rate(burst=10**9, per_second=10**9)
FUZZ_EXAMPLES = 120
UPDATE_TIMEOUT = 20.0


# The language check --------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%|\n")


def _fragments(text: str) -> set[str]:
    return {
        part.strip()
        for part in _PLACEHOLDER.split(text)
        if len(part.strip()) >= 14 and " " in part.strip()
    }


@cache
def own_fragments() -> dict[str, frozenset[str]]:
    """For each language, the sentences of its own interface (translated ones)."""
    own: dict[str, set[str]] = {"en": set()}
    for language in BOT_LANGUAGES:
        if language == "en":
            continue
        with (LOCALES_DIR / language / "LC_MESSAGES" / "bot.po").open("rb") as handle:
            catalog = read_po(handle, locale=language)
        own[language] = set()
        for message in catalog:
            if not message.id or not message.string or message.fuzzy:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                continue
            for source in ids:
                own["en"] |= _fragments(source)
            for target in strings:
                own[language] |= _fragments(target)
    return {language: frozenset(found) for language, found in own.items()}


@cache
def wrong_language_fragments() -> dict[str, frozenset[str]]:
    """For each language, sentences of the *other* languages' interfaces."""
    own = own_fragments()
    return {
        language: frozenset(
            set().union(*(theirs for other, theirs in own.items() if other != language)) - mine
        )
        for language, mine in own.items()
    }


@cache
def fallback_notice(language: str) -> str | None:
    """The line on a card shown in another language (a Kazakh reader's card in Russian)."""
    words = card_fallback(language)
    if words == language or words not in NOT_TRANSLATED:
        return None
    return translator(language).gettext(NOT_TRANSLATED[words])


def language_problem(text: str, expected: set[str]) -> str | None:
    """None if some expected language fits; else the wrong-language sentence found. A card
    that says it is shown in its fallback language may hold that language's words."""
    fragments = wrong_language_fragments()
    found = None
    for language in expected:
        wrong_set = fragments[language]
        notice = fallback_notice(language)
        if notice and notice in text:
            wrong_set = wrong_set - own_fragments()[card_fallback(language)]
        wrong = next((f for f in wrong_set if f in text), None)
        if wrong is None:
            return None
        found = wrong
    return found


# The bot under test --------------------------------------------------------------------------


class ErrorLog(logging.Handler):
    """Collects every ERROR record: an update that failed, a polling error, a crashed task."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class FuzzStats:
    examples: int = 0
    updates: int = 0
    kinds: Counter = field(default_factory=Counter)
    replies: int = 0
    unanswered_callbacks: int = 0


class FuzzBot:
    """One emulator and one real bot on an event loop this object owns."""

    def __init__(self, data_dir: Path, group_pool: int = GROUP_POOL) -> None:
        self.data_dir = data_dir
        self.groups = {
            placeholder: [
                (-1_001_000_000 if kind == "supergroup" else -300_000) - n
                for n in range(group_pool)
            ]
            for placeholder, kind in GROUP_TYPES.items()
        }
        self.groups[ODD_CHAT] = [ODD_CHAT_BASE - n for n in range(group_pool)]
        self.group_type = {
            chat_id: GROUP_TYPES[placeholder]
            for placeholder in GROUP_TYPES
            for chat_id in self.groups[placeholder]
        }
        self._turn = 0
        self.loop = asyncio.new_event_loop()
        self.errors = ErrorLog()
        self.done: set[int] = set()
        self._wake = asyncio.Event()
        self.stats = FuzzStats()
        self.emulator: Emulator
        self.app = None

    def __enter__(self) -> FuzzBot:
        logging.getLogger().addHandler(self.errors)
        self.loop.run_until_complete(self._start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.loop.run_until_complete(self._stop())
        finally:
            self.loop.close()
            logging.getLogger().removeHandler(self.errors)

    async def _start(self) -> None:
        self.emulator = Emulator(username=BOT_USERNAME)
        await self.emulator.start()
        self.app = build_application(make_config(self.emulator, self.data_dir))
        # The fuzzer is a few users at machine speed: fair shares (tests/test_fairness.py)
        # would drop most of what it sends, and it checks what the bot does with each update.
        processor = self.app.update_processor
        assert isinstance(processor, FairUpdates)
        processor.admission = Admission(user=UNLIMITED, group=UNLIMITED, inline=UNLIMITED)
        self._watch_updates()
        await start_application(self.app, poll_timeout=1)
        for chat_id, chat_type in self.group_type.items():
            await self._run(
                self.emulator.bot_added_to_group(chat_id, GROUP_ADMIN, chat_type=chat_type)
            )
            self.emulator.set_admin(chat_id, GROUP_ADMIN)
            self.emulator.set_member_status(chat_id, GROUP_MEMBER, "member")

    async def _stop(self) -> None:
        try:
            await stop_application(self.app)
        finally:
            type(self.app).process_update = self._process_update
            await self.emulator.stop()

    def _watch_updates(self) -> None:
        """Note each update once the Application is done with it. A handler in a last group
        would miss those a flow stops with ApplicationHandlerStop (bot.handlers.conversations)."""
        app_class, fuzz = type(self.app), self
        self._process_update = original = app_class.process_update

        async def process_update(app, update: object) -> None:
            try:
                await original(app, update)
            finally:
                if app is fuzz.app and isinstance(update, Update):
                    fuzz.done.add(update.update_id)
                    fuzz._wake.set()

        app_class.process_update = process_update

    async def _run(self, update_id: int | None) -> None:
        """Wait for the marker handler to see the update (or for an error to be logged)."""
        if update_id is None:
            return
        deadline = self.loop.time() + UPDATE_TIMEOUT
        errors = len(self.errors.records)
        while update_id not in self.done:
            self._wake.clear()
            if update_id in self.done or len(self.errors.records) > errors:
                break  # an error: reported by the caller
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"the bot never finished update {update_id}: {self.emulator.update(update_id)}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(remaining, 0.2))

    # Running one action ----------------------------------------------------------------------

    def play(self, actions: list[Action]) -> None:
        self.stats.examples += 1
        self.loop.run_until_complete(self._play(actions))

    def is_alive(self) -> bool:
        """A plain command, answered after everything the fuzzer did."""

        async def ask() -> bool:
            self.emulator.unread(PRIVATE_USERS[0])
            update_id = self.emulator.user_message(PRIVATE_USERS[0], "/help")
            answered = bool(await self.emulator.next_message(PRIVATE_USERS[0], timeout=15))
            await self._run(update_id)  # the answer goes out before process_update returns
            return answered

        return self.loop.run_until_complete(ask())

    def resolve(self, action: Action) -> Action:
        """Put a real group in place of a placeholder, taking the pool's groups in turn."""
        if action.chat not in self.groups:
            return action
        self._turn += 1
        pool = self.groups[action.chat]
        return dataclasses.replace(action, chat=pool[self._turn % len(pool)])

    async def _play(self, actions: list[Action]) -> None:
        for action in map(self.resolve, actions):
            store = self.app.bot_data.store
            before = store.chat(action.chat)
            sent_before = len(self.emulator.sent())
            answers_before = len(self.emulator.callback_answers)
            errors_before = len(self.errors.records)
            violations_before = len(self.emulator.violations)
            update_id = self.send(action)
            if update_id is not None:
                self.stats.updates += 1
                self.stats.kinds[action.kind] += 1
                await self._run(update_id)
            errors = self.errors.records[errors_before:]
            assert not errors, (
                f"{action} was not handled cleanly: {[self.errors.format(r) for r in errors[:2]]}"
            )
            violations = self.emulator.violations[violations_before:]
            assert not violations, f"{action} made the bot send invalid requests: {violations}"
            after = store.chat(action.chat)
            self.check_replies(action, update_id, before, after, sent_before, answers_before)

    def check_replies(
        self,
        action: Action,
        update_id: int | None,
        before,
        after,
        sent_before: int,
        answers_before: int,
    ) -> None:
        if action.kind == "inline" or update_id is None:
            return
        code = sender_language(self.emulator.update(update_id))
        expected = {pick_language(s.language if s else None, code) for s in (before, after)}
        replies = [m for m in self.emulator.sent()[sent_before:] if m.chat_id == action.chat]
        self.stats.replies += len(replies)
        for message in replies:
            check_message(action, message, expected)
        answers = self.emulator.callback_answers[answers_before:]
        for answer in answers:
            if answer.text:
                problem = language_problem(answer.text, expected)
                assert problem is None, f"{action}: answer {answer.text!r} not in {expected}"
        pressed = action.kind in ("press", "replay", "gone")
        if pressed and self.emulator.callback_answer(update_id) is None:
            self.stats.unanswered_callbacks += 1
            raise AssertionError(f"{action}: the button press was never answered")

    def send(self, action: Action) -> int | None:
        emulator = self.emulator
        if action.kind == "message":
            return emulator.user_message(
                action.chat, action.text, user_id=action.user, language_code=action.language
            )
        if action.kind == "edit":
            mine = [
                key[1]
                for key, stored in emulator.messages.items()
                if key[0] == action.chat and not stored["from_bot"]
            ]
            message_id = mine[action.ref % len(mine)] if mine else 10**6 + action.ref
            return emulator.edited_message(
                action.chat,
                message_id,
                action.text,
                user_id=action.user,
                language_code=action.language,
            )
        if action.kind in ("press", "replay", "gone"):
            return self.press(action)
        if action.kind == "inline":
            return emulator.inline_query(
                action.user,
                action.text,
                offset=action.data,
                language_code=action.language,
                chat_type=action.extra or None,
            )
        if action.kind == "channel":
            return emulator.channel_post(action.chat, action.text)
        if action.kind == "file":
            return self.file_message(action)
        if action.kind == "odd_chat":
            chat = {"id": action.chat, "type": action.extra, "title": "Odd chat"}
            return emulator.raw_update(
                {"message": self._message(chat, action, {"text": action.text})}
            )
        if action.kind == "member":
            return self.member(action)
        raise AssertionError(f"unknown action kind {action.kind}")

    def press(self, action: Action) -> int:
        emulator = self.emulator
        keyboards = [m for m in emulator.sent(action.chat) if m.buttons and m.message_id]
        if action.kind in ("replay", "gone"):  # a real button: stale, or on a deleted message
            buttons = [
                (m.message_id, b["callback_data"])
                for m in keyboards
                for b in m.buttons
                if "callback_data" in b
            ]
            if not buttons:
                message_id, data = 10**6, "menu:main"
            else:
                message_id, data = buttons[action.ref % len(buttons)]
            if action.kind == "gone":
                message_id = 10**6
        else:
            choice = action.ref % (len(keyboards) + 1)
            message_id = keyboards[choice].message_id if choice < len(keyboards) else 10**6
            data = action.data
        if action.user == ADMIN_ID and data.startswith(ADMIN_FANOUTS):
            data = "adm:discard"
        return emulator.press(
            action.chat,
            message_id,
            data,
            user_id=action.user,
            language_code=action.language,
            strict=False,
        )

    def _message(self, chat: dict, action: Action, fields: dict) -> dict:
        emulator = self.emulator
        message = {
            "message_id": emulator.next_message_id(chat["id"]),
            "date": emulator.now(),
            "chat": chat,
            **fields,
        }
        if "sender_chat" not in fields:
            message["from"] = emulator.user(action.user, action.language or None)
        return message

    def file_message(self, action: Action) -> int:
        emulator = self.emulator
        chat = emulator.chat(action.chat)
        ids = {"file_id": f"F{action.ref}", "file_unique_id": f"U{action.ref}"}
        caption = {"caption": action.text[:1024]}
        kind = action.extra
        fields: dict = {
            "sticker": {
                "sticker": {
                    **ids,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "🕯",
                }
            },
            "document": {
                "document": {
                    **ids,
                    "file_name": action.text[:60].strip() or "f",
                    "mime_type": "application/pdf",
                },
                **caption,
            },
            "photo": {"photo": [{**ids, "width": 90, "height": 90}], **caption},
            "voice": {"voice": {**ids, "duration": 3}, **caption},
            "location": {"location": {"latitude": 43.34, "longitude": 52.86}},
            "venue": {
                "venue": {
                    "location": {"latitude": 51.5, "longitude": -0.1},
                    "title": action.text[:100],
                    "address": "1 Example Street",
                }
            },
            "contact": {"contact": {"phone_number": "+0000000000", "first_name": "Nobody"}},
            "dice": {"dice": {"emoji": "🎲", "value": 1 + action.ref % 6}},
            "forward": {
                "text": action.text,
                "forward_origin": {
                    "type": "hidden_user",
                    "sender_user_name": "Someone",
                    "date": 0,
                },
            },
            "anonymous": {"text": action.text, "sender_chat": chat},
            "reply": {"text": action.text},
        }[kind]
        if kind == "reply":
            mine = [m.message_id for m in emulator.sent(action.chat) if m.message_id]
            if mine:
                stored = emulator.message(action.chat, mine[action.ref % len(mine)])
                if stored is not None:
                    fields["reply_to_message"] = {
                        k: v for k, v in stored.items() if k != "reply_to_message"
                    }
        if kind == "anonymous" and chat["type"] == "private":
            fields = {"text": action.text}
        return emulator.raw_update({"message": self._message(chat, action, fields)})

    def member(self, action: Action) -> int:
        emulator = self.emulator
        if action.chat < 0:
            if action.extra == "removed":
                return emulator.bot_removed_from_group(action.chat, action.user)
            status = "administrator" if action.extra == "added_admin" else "member"
            return emulator.bot_added_to_group(
                action.chat, action.user, chat_type=self.group_type[action.chat], status=status
            )
        if action.extra in ("blocked", "removed"):
            return emulator.user_blocked_bot(action.user)
        return emulator.user_unblocked_bot(action.user)


def sender_language(update: dict) -> str | None:
    """The language_code Telegram sent with the update (an edit keeps the original's)."""
    payload = next(value for key, value in update.items() if key != "update_id")
    return (payload.get("from") or {}).get("language_code")


def check_message(action: Action, message: BotMessage, expected: set[str]) -> None:
    entities = {entity["type"] for entity in message.entities}
    assert not entities & SENTINEL_ENTITIES, (
        f"{action}: user text reached Telegram as HTML: {message.raw_text[:300]!r}"
    )
    labels = " ".join(button.get("text", "") for button in message.buttons)
    problem = language_problem(f"{message.text}\n{labels}", expected)
    assert problem is None, (
        f"{action}: reply not in {expected} (found {problem!r}): {message.text[:300]!r}"
    )


def fuzz(
    bot: FuzzBot, actions: st.SearchStrategy[Action], examples: int, *, database: bool = True
) -> None:
    """Run ``examples`` hypothesis examples (1-3 actions each) against one running bot."""
    options = {} if database else {"database": None}

    @settings(
        max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), **options
    )
    @given(st.lists(actions, min_size=1, max_size=3))
    def run(sequence: list[Action]) -> None:
        bot.play(sequence)

    run()
    assert bot.is_alive(), "the bot stopped answering after the fuzzing"


def _fuzz_test(tmp_path: Path, name: str) -> FuzzStats:
    with FuzzBot(tmp_path / "data") as bot:
        fuzz(bot, ACTIONS[name], FUZZ_EXAMPLES)
        assert bot.stats.updates >= FUZZ_EXAMPLES
        assert set(bot.emulator.update_log) - bot.done <= _undelivered(bot)
        return bot.stats


def _undelivered(bot: FuzzBot) -> set[int]:
    """Updates the emulator kept back (kinds the bot did not ask for)."""
    return {
        update_id
        for update_id, update in bot.emulator.update_log.items()
        if next(k for k in update if k != "update_id") not in ALLOWED_UPDATES
    }


def test_fuzz_messages_commands_and_edits(tmp_path):
    _fuzz_test(tmp_path, "messages")


def test_fuzz_forged_and_stale_buttons(tmp_path):
    _fuzz_test(tmp_path, "buttons")


def test_fuzz_inline_channels_files_and_odd_chats(tmp_path):
    _fuzz_test(tmp_path, "other")
