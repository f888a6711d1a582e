""" "✋ I plan to come": a count that goes up and down with presses, survives a restart, and
never becomes a list: the data files hold no chat id in connection with a protest."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
import time_machine
from chat import say
from conftest import ADMIN_ID, running_bot
from test_event_edit import DAY_7, follower
from test_reminders import event

from bot.reminders import service

PRESSER, FRIEND = 424242421, 434343431
PROTEST = "almaty-2026-12-16"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 11, 30, 6, tzinfo=UTC), tick=True) as traveller:
        yield traveller


async def press_coming(emulator, chat_id: int, message) -> str:
    update_id = emulator.press(
        chat_id, message.message_id, message.button("✋")["callback_data"], user_id=chat_id
    )
    return (await emulator.wait_callback_answer(update_id)).text


def tables_naming(data_dir, text: str) -> list[tuple[str, str, str]]:
    """(file, table, its JSON) for every table of every data file that mentions ``text``."""
    found = []
    for path in sorted(data_dir.glob("*.json")):
        for name, table in orjson.loads(path.read_bytes()).items():
            dumped = orjson.dumps(table).decode()
            if text in name or text in dumped:
                found.append((path.name, name, dumped))
    return found


async def test_the_count_goes_up_and_down_and_names_nobody(config, emulator, data_dir):
    async with running_bot(config) as app:
        store = app.bot_data.store
        await app.bot_data.protests.save(event())
        await store.put_chat(follower(PRESSER))
        await service.service(app).sweep(DAY_7)
        reminder = await emulator.next_message(PRESSER)
        assert "Старая площадь" in reminder.text
        assert "1 человек" in await press_coming(emulator, PRESSER, reminder)
        listed = await say(emulator, FRIEND, "/protests")
        assert "2 people plan to come" in await press_coming(emulator, FRIEND, listed)
        assert "1 person plans" in await press_coming(emulator, FRIEND, listed)  # taken back
        assert "2 people" in await press_coming(emulator, FRIEND, listed)
        stats = await say(emulator, ADMIN_ID, "/stats")
        assert "✋ 2 people plan to come" in stats.text
        choose = await say(emulator, ADMIN_ID, "/event_cancel")
        assert "✋ 2" in choose.button("Almaty")["text"]
    # No table that mentions the protest holds either chat id, or anything a list could be
    # read from without the per-protest secret.
    naming = tables_naming(data_dir, PROTEST)
    assert naming
    for file, table, dumped in naming:
        for chat_id in (PRESSER, FRIEND):
            assert str(chat_id) not in dumped, (file, table)
    async with running_bot(config) as app:
        listed = await say(emulator, FRIEND, "/protests")
        assert "1 person plans" in await press_coming(emulator, FRIEND, listed)
        assert app.bot_data.store.marks.coming_count(PROTEST) == 1
        # /forget leaves nothing that names the chat: its press is gone from the count too.
        forget = await say(emulator, PRESSER, "/forget", "ru")
        emulator.press(
            PRESSER,
            forget.message_id,
            forget.button("Удалить")["callback_data"],
            user_id=PRESSER,
            language_code="ru",
        )
        await emulator.next_message(PRESSER)
        assert app.bot_data.store.marks.coming_count(PROTEST) == 0


async def test_a_protest_over_takes_its_marks_and_secret_with_it(app, emulator, clock):
    store = app.bot_data.store
    await app.bot_data.protests.save(event())
    await store.marks.set_coming(PROTEST, PRESSER, True)
    reminder_service = service.service(app)
    assert await reminder_service.fanouts.drop_finished_marks() == 0
    clock.move_to(datetime(2026, 12, 16, 20, tzinfo=UTC))
    assert await reminder_service.fanouts.drop_finished_marks() == 1
    assert store.marks.coming_count(PROTEST) == 0 and store.marks.protest_ids() == []
