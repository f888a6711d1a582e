"""Organisers' commands through the real bot: /event_add checks, /broadcast, /stats, /backup."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pyrage
import pytest
import time_machine
from chat import press, say
from conftest import ADMIN_ID, make_config, running_bot

from bot.content.schema import ProtestEvent
from bot.store.models import ChatSettings
from bot.store.repository import Store

ADMIN = ADMIN_ID
BIG_CHAT = 987_654_321_987


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 11, 30, 6, tzinfo=UTC), tick=True) as traveller:
        yield traveller


async def test_event_add_checks_every_answer(app, emulator):
    store = app.bot_data.store
    await say(emulator, ADMIN, "/event_add")
    await emulator.next_message(ADMIN)  # step 1
    retry = await say(emulator, ADMIN, "Алматы-Сити")
    assert "English" in retry.text, "a city needs an English name (it becomes the key)"
    await say(emulator, ADMIN, "Berlin")  # known city: Russian filled in
    await say(emulator, ADMIN, "Embassy of Kazakhstan / Посольство Казахстана")
    await say(emulator, ADMIN, "Nordendstraße 14")
    retry = await say(emulator, ADMIN, "next Tuesday")
    assert "2026-12-16 12:00" in retry.text
    retry = await say(emulator, ADMIN, "2026-11-01 12:00")  # in the past: caught at its step
    assert "passed" in retry.text
    zone = await say(emulator, ADMIN, "16.12.2026 18:30")
    assert "Europe/Vienna" in zone.text
    await say(emulator, ADMIN, "Europe/Berlin")
    await say(emulator, ADMIN, "Kazakhstan Solidarity / Солидарность с Казахстаном")
    retry = await say(emulator, ADMIN, "not a link")
    assert "https://" in retry.text
    prompt = await say(emulator, ADMIN, "https://example.org/berlin")
    preview = await press(emulator, ADMIN, prompt, "Skip")  # no note
    assert "Берлин" in preview.text and "Berlin" in preview.text
    done = await press(emulator, ADMIN, preview, "Publish")
    assert "berlin-2026-12-16" in done.text
    (stored,) = store.events()
    assert stored["starts_at"] == "2026-12-16T18:30:00" and stored["timezone"] == "Europe/Berlin"
    assert stored["link"] == "https://example.org/berlin" and stored["note"] is None


async def test_event_add_can_be_cancelled(app, emulator):
    await say(emulator, ADMIN, "/event_add")
    prompt = await emulator.next_message(ADMIN)
    cancelled = await press(emulator, ADMIN, prompt, "Cancel")
    assert "Cancelled" in cancelled.text
    after = await say(emulator, ADMIN, "Tuletaeva")  # free text is a search again
    assert "Tuletaeva" in after.text
    assert app.bot_data.store.events() == []


async def test_broadcast_previews_then_sends_in_the_background(emulator, data_dir):
    config = make_config(emulator, data_dir, broadcast_rate=5.0)
    subscribers = list(range(3001, 3016))
    async with running_bot(config) as app:
        store = app.bot_data.store
        for chat_id in subscribers:
            await store.put_chat(
                ChatSettings(chat_id, language="ru" if chat_id % 2 else "en", subscribed=True)
            )
        await say(emulator, ADMIN, "/broadcast")
        await say(emulator, ADMIN, "Vigil on 16 December & <everyone> welcome")
        preview_en = await say(emulator, ADMIN, "Акция памяти 16 декабря")
        preview_ru = await emulator.next_message(ADMIN)
        question = await emulator.next_message(ADMIN)
        assert "Vigil" in preview_en.text and "Акция" in preview_ru.text
        assert not any(emulator.delivered[c] for c in subscribers), "nothing before confirming"
        progress = await press(emulator, ADMIN, question, "15")

        # The bot keeps answering while the broadcast goes out.
        reply = await say(emulator, 4242, "/start")
        assert reply.text
        assert sum(emulator.delivered[c] for c in subscribers) < len(subscribers)

        await emulator.wait_for(
            lambda: all(emulator.delivered[c] for c in subscribers),
            timeout=20,
            what="the broadcast",
        )
        final = await emulator.wait_for(
            lambda: (
                "15 of about 15"
                in (emulator.message(ADMIN, progress.message_id) or {}).get("text", "")
            ),
            timeout=10,
            what="the final progress report",
        )
        assert final
    assert all(emulator.delivered[c] == 1 for c in subscribers)
    english = emulator.sent(3002)[0].text
    russian = emulator.sent(3001)[0].text
    assert english == "Vigil on 16 December & <everyone> welcome"
    assert russian == "Акция памяти 16 декабря"


async def test_stats_are_counts_only(app, emulator):
    store = app.bot_data.store
    await store.put_chat(ChatSettings(11, language="ru", timezone="Asia/Almaty", subscribed=True))
    await store.put_chat(ChatSettings(12, language="en", topics="dec16", subscribed=True))
    await store.put_chat(ChatSettings(13))
    await store.deliveries.set(
        [
            ("a:zhanaozen-massacre:2026:7", 11, "sent"),
            ("a:zhanaozen-massacre:2026:7", 12, "failed"),
        ]
    )
    stats = await say(emulator, ADMIN, "/stats")
    assert "Chats: 3, subscribed: 2" in stats.text
    assert "ru: 1" in stats.text and "Asia/Almaty: 1" in stats.text
    assert "only 16 December: 1" in stats.text and "all anniversaries: 1" in stats.text
    assert "delivered: 1" in stats.text and "failed: 1" in stats.text
    for chat_id in ("11", "12", "13"):
        assert chat_id not in stats.text.replace("2026", "")
    # An organiser reading Russian sees words, not the store's keys.
    russian = await say(emulator, ADMIN, "/stats", language="ru")
    assert "только 16 декабря: 1" in russian.text and "все даты: 1" in russian.text
    assert "доставлено: 1" in russian.text and "ошибка: 1" in russian.text
    for key in ("dec16", "sent", "failed", "pending", "uncertain"):
        assert key not in russian.text


async def test_backup_is_refused_without_a_backup_key(app, emulator):
    await app.bot_data.store.put_chat(ChatSettings(11, subscribed=True))
    reply = await say(emulator, ADMIN, "/backup")
    assert reply.document is None and "BOT_BACKUP_AGE_RECIPIENT" in reply.text
    assert "python -m bot backup" in reply.text


async def test_backup_sends_only_an_encrypted_snapshot_of_the_live_store(
    emulator, data_dir, monkeypatch
):
    key = pyrage.x25519.Identity.generate()
    config = make_config(emulator, data_dir, backup_recipient=str(key.to_public()))
    async with running_bot(config) as app:
        store = app.bot_data.store
        await store.put_chat(ChatSettings(BIG_CHAT, subscribed=True, timezone="Asia/Almaty"))
        await app.bot_data.protests.save(
            ProtestEvent.model_validate(
                {
                    "id": "almaty-2026-12-16",
                    "city": {"en": "Almaty", "ru": "Алматы"},
                    "venue": {"en": "Square", "ru": "Площадь"},
                    "address": "Street",
                    "starts_at": "2026-12-16T12:00:00",
                    "timezone": "Asia/Almaty",
                    "organiser": {"en": "Group", "ru": "Группа"},
                }
            ),
        )

        def no_second_store(*args, **kwargs):
            raise AssertionError("/backup opened a second store")

        monkeypatch.setattr(Store, "open", no_second_store)
        reply = await say(emulator, ADMIN, "/backup")
        monkeypatch.undo()
        sealed = reply.document.data
        assert reply.document.file_name.endswith(".json.age")
        assert sealed.startswith(b"age-encryption.org/v1")
        assert str(BIG_CHAT).encode() not in sealed and b"Asia/Almaty" not in sealed
        snapshot = orjson.loads(pyrage.decrypt(sealed, [key]))
        assert snapshot["chats"][0]["chat_id"] == BIG_CHAT and snapshot["events"]
        emulator.user_message(-900, "/backup", user_id=ADMIN, chat_type="group")
        refusal = await emulator.next_message(-900)
        assert refusal.document is None and "organisers" in refusal.text
