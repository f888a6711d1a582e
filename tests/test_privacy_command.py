"""/privacy: what the bot keeps, in the reader's language, and in step with the code."""

from __future__ import annotations

import pytest
from chat import say

from bot.app import MENU_COMMANDS, PRIVATE_MENU_COMMANDS
from bot.reminders.broadcasts import MARKS_KEPT_AFTER
from bot.reminders.jobs import KEEP_LOG_DAYS
from bot.store.safekeeping import KEEP_DAILY, KEEP_WEEKLY


@pytest.mark.parametrize(("language", "words"), [
    ("en", ("What we keep about this chat", "What we never keep", "Who sees it",
            "/forget deletes everything", "60 days", "12 hours", "counts only")),
    ("ru", ("Что мы храним об этом чате", "Чего мы никогда не храним", "Кто это видит",
            "/forget сразу удаляет всё", "60 дней", "12 часов", "только числа")),
])
async def test_privacy_answers_in_the_readers_language(app, emulator, language, words):
    answer = await say(emulator, 77, "/privacy", language)
    for expected in words:
        assert expected in answer.text
    helped = await say(emulator, 77, "/help", language)
    assert "/privacy" in helped.text


def test_the_numbers_it_gives_are_the_codes():
    """The text says 60 days, 12 hours, 7 daily and 4 weekly: so must the code."""
    assert KEEP_LOG_DAYS == 60
    assert MARKS_KEPT_AFTER.total_seconds() == 12 * 3600
    assert (KEEP_DAILY, KEEP_WEEKLY) == (7, 4)
    assert "privacy" in dict(MENU_COMMANDS) and "privacy" in dict(PRIVATE_MENU_COMMANDS)
