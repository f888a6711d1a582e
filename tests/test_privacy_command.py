"""/privacy: what the bot keeps, in the reader's language, and in step with the code."""

from __future__ import annotations

import pytest
from chat import say

from bot.app import MENU_COMMANDS, PRIVATE_MENU_COMMANDS
from bot.handlers.panel import forgotten_text
from bot.i18n import translator
from bot.ops import backups
from bot.ops.backups import KEEP_DAILY, KEEP_WEEKLY
from bot.reminders.broadcasts import MARKS_KEPT_AFTER
from bot.reminders.service import KEEP_LOG_DAYS


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            (
                "What we keep about this chat",
                "What we never keep",
                "Who sees it",
                "/forget deletes everything",
                "60 days",
                "12 hours",
                "counts only",
                "If you follow a case (🔔 Follow)",
                "ids of the cards this chat follows",
            ),
        ),
        (
            "ru",
            (
                "Что хранится об этом чате",
                "Что не хранится никогда",
                "Кто это видит",
                "/forget сразу удаляет всё",
                "60 дней",
                "12 часов",
                "только числа",
                "Если вы следите за делом («🔔 Следить»)",
                "только id карточек",
            ),
        ),
    ],
)
async def test_privacy_answers_in_the_readers_language(app, emulator, language, words):
    answer = await say(emulator, 77, "/privacy", language)
    for expected in words:
        assert expected in answer.text
    helped = await say(emulator, 77, "/help", language)
    assert "/privacy" in helped.text
    assert ("🔔 Follow" if language == "en" else "«🔔 Следить»") in helped.text


@pytest.mark.parametrize(("language", "days"), [("en", "%d days"), ("ru", "%d дней")])
async def test_the_snapshots_retention_is_the_constant(app, emulator, monkeypatch, language, days):
    """/privacy and /forget's answer give the snapshots' retention from one constant, twice in
    /privacy (how to delete, snapshots), and no other figure for it."""
    monkeypatch.setattr(backups, "KEPT_FOR_DAYS", 19)
    answer = await say(emulator, 77, "/privacy", language)
    assert answer.text.count(days % 19) == 2
    assert "%(days)" not in answer.text
    assert "month" not in answer.text and "месяц" not in answer.text
    assert days % 19 in forgotten_text(translator(language), "chat")


def test_the_numbers_it_gives_are_the_codes():
    """The text says 60 days, 12 hours, 7 daily and 4 weekly: so must the code."""
    assert KEEP_LOG_DAYS == 60
    assert MARKS_KEPT_AFTER.total_seconds() == 12 * 3600
    assert (KEEP_DAILY, KEEP_WEEKLY) == (7, 4)
    assert backups.KEPT_FOR_DAYS == 7 * KEEP_WEEKLY  # "at most N days": the oldest weekly
    assert "privacy" in dict(MENU_COMMANDS) and "privacy" in dict(PRIVATE_MENU_COMMANDS)
