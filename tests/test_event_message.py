"""/event_message: an organisers' message reaches exactly the chats following the protest's
city, in their language, with progress shown as /broadcast shows it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from chat import press, say
from conftest import ADMIN_ID
from test_reminders import event

from bot.reminders.broadcasts import FANOUTS
from bot.store.models import ChatSettings

ALMATY_RU, ALMATY_EN, EVERYWHERE, LONDON, UNSUBSCRIBED = 51, 52, 53, 54, 55


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 11, 30, 6, tzinfo=UTC), tick=True) as traveller:
        yield traveller


async def test_a_message_to_one_citys_followers(app, emulator):
    store = app.bot_data.store
    await app.bot_data.protests.save(event())
    for chat_id, language, cities, subscribed in (
        (ALMATY_RU, "ru", ["almaty"], True),
        (ALMATY_EN, "en", ["almaty", "london"], True),
        (EVERYWHERE, "en", ["*"], True),
        (LONDON, "en", ["london"], True),
        (UNSUBSCRIBED, "ru", ["almaty"], False),
    ):
        await store.put_chat(
            ChatSettings(chat_id, language=language, cities=cities, subscribed=subscribed)
        )
    choose = await say(emulator, ADMIN_ID, "/event_message")
    english = await press(emulator, ADMIN_ID, choose, "Almaty")
    assert "English" in english.text
    russian = await say(emulator, ADMIN_ID, "We moved inside: it is raining.")
    assert russian.button("Skip")
    emulator.user_message(ADMIN_ID, "Мы перешли внутрь: идёт дождь.", user_id=ADMIN_ID)
    *previews, confirm = [await emulator.next_message(ADMIN_ID) for _ in range(3)]
    assert "raining" in previews[0].text and "дождь" in previews[1].text
    assert "Send to 3 chats following Almaty" in confirm.button("Send")["text"]
    await press(emulator, ADMIN_ID, confirm, "Send")
    report = await emulator.wait_for(
        lambda: [m for m in emulator.sent(ADMIN_ID) if m.edited and "3 sent" in m.text], timeout=10
    )
    assert "of about 3" in report[-1].text
    await emulator.wait_for(lambda: not store.meta(FANOUTS), timeout=10)

    def got(chat_id: int) -> list:
        return [m for m in emulator.sent(chat_id) if not m.edited]

    (ru,) = got(ALMATY_RU)
    assert "дождь" in ru.text and "Алматы" in ru.text
    assert "raining" in got(ALMATY_EN)[0].text and "inside" in got(EVERYWHERE)[0].text
    assert not got(LONDON) and not got(UNSUBSCRIBED)
    # The text was kept only until the last chat had it.
    assert "raining" not in (app.bot_data.config.data_dir / "events.json").read_text()
