"""Lists that never break (issue 22, security review 3 M2 and L3): every message the bot
composes from a variable number of protests or cities fits Telegram's limits, in every
language and time zone. The emulator fixture fails the test on any text over 4,096
characters or keyboard over 100 buttons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from chat import press, say

from bot.protests.model import city_key
from bot.reminders.choices import MAX_CITIES
from bot.store.models import ChatSettings

READER = 4200
NOW = datetime(2026, 12, 7, 6, tzinfo=UTC)
ZONES = ("UTC", "Asia/Almaty", "America/New_York")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def protest(number: int) -> dict:
    """A protest with every field at /event_add's longest, in a city of its own."""
    city = f"Town{number:03d}" + "x" * 52
    return {
        "id": f"town{number:03d}-2026-12-{10 + number % 15:02d}",
        "city": {"en": city, "ru": city},
        "venue": {"en": "V" * 200, "ru": "В" * 200},
        "address": "A" * 200,
        "starts_at": f"2026-12-{10 + number % 15:02d}T{8 + number % 12:02d}:00:00",
        "timezone": "Europe/London",
        "organiser": {"en": "O" * 200, "ru": "О" * 200},
        "note": {"en": "N" * 600, "ru": "Н" * 600},
        "link": f"https://example.org/{number}",
    }


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_every_list_fits_with_200_protests_in_200_cities(app, emulator, language):
    store = app.bot_data.store
    for number in range(200):
        await store.put_event(protest(number))
    for zone in ZONES:
        await store.put_chat(
            ChatSettings(READER, language=language, timezone=zone, subscribed=True)
        )
        listed = await say(emulator, READER, "/protests", language)
        assert listed.text.count("https://") == 0 and "200" not in listed.text[:20]
        assert "190" in listed.text or "19" in listed.text, "the rest are counted"
        assert len(listed.buttons) <= 10
        deep = await say(emulator, READER, "/start protests", language)
        assert deep.text == listed.text
        panel = await say(emulator, READER, "/settings", language)
        picker = await press(emulator, READER, panel, "📣", language)
        assert 40 <= len(picker.buttons) <= 100
    # A chat that chose as many cities as it may: its panel still fits, and one more is not
    # stored (nor does it reach the store's own limit and raise).
    keys = [city_key(protest(n)["city"]["en"]) for n in range(MAX_CITIES)]
    await store.put_chat(ChatSettings(READER, language=language, subscribed=True, cities=keys))
    panel = await say(emulator, READER, "/settings", language)
    assert "88" in panel.text, "the panel names a few cities and counts the rest"
    picker = await press(emulator, READER, panel, "📣", language)
    one_more = city_key(protest(MAX_CITIES + 1)["city"]["en"])
    update_id = emulator.press(
        READER, picker.message_id, f"rs:city:{one_more}", user_id=READER, strict=False
    )
    await emulator.wait_callback_answer(update_id)
    assert store.chat(READER).cities == keys


async def test_an_invented_city_is_not_stored(app, emulator):
    store = app.bot_data.store
    panel = await say(emulator, READER, "/settings")
    update_id = emulator.press(
        READER, panel.message_id, "rs:city:atlantis", user_id=READER, strict=False
    )
    await emulator.wait_callback_answer(update_id)
    settings = store.chat(READER)
    assert settings is None or "atlantis" not in settings.cities
