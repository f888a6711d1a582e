"""Campaign channels, set up from a private chat: the real Application against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import chat
import pytest
import time_machine
from conftest import make_config, running_bot

from bot.reminders import service
from bot.store.models import ChatSettings
from emulator import Emulator

CHANNEL = -1001234567890
USERNAME = "campaign_kz"
ADMIN = 42
READER = 43


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 11, 30, 6, tzinfo=UTC), tick=True) as traveller:
        yield traveller


def channel(emulator: Emulator, *, bot_may_post: bool = True) -> None:
    emulator.add_channel(CHANNEL, USERNAME, title="Zhanaozen solidarity")
    emulator.set_admin(CHANNEL, ADMIN, "creator")
    emulator.set_admin(CHANNEL, emulator.bot_id, can_post_messages=bot_may_post)


# A Russian-speaking person by default: the shared chat helpers with Russian as the language.
async def say(emulator: Emulator, chat_id: int, text: str, language: str = "ru"):
    return await chat.say(emulator, chat_id, text, language)


async def press(emulator: Emulator, chat_id: int, message, label: str, language: str = "ru"):
    return await chat.press(emulator, chat_id, message, label, language)


def member_checks(emulator: Emulator) -> int:
    return sum(
        1
        for r in emulator.requests
        if r.method == "getChatMember" and r.params.get("user_id") == ADMIN
    )


async def test_done_means_a_channel_set_up_in_private_gets_the_16_december_reminder(
    emulator, data_dir, clock
):
    channel(emulator)
    config = make_config(emulator, data_dir)
    async with running_bot(config) as app:
        panel = await say(emulator, ADMIN, f"/channel @{USERNAME}")
        assert "Zhanaozen solidarity" in panel.text and "Русский" in panel.text
        checks = member_checks(emulator)
        panel = await press(emulator, ADMIN, panel, "🔔")
        zones = await press(emulator, ADMIN, panel, "🕒")
        panel = await press(emulator, ADMIN, zones, "Алматы")
        assert "(Алматы)" in panel.text and "✅" in panel.text
        # Telegram was asked again on every press.
        assert member_checks(emulator) >= checks + 3
        stored = app.bot_data.store.chat(CHANNEL)
        assert stored.subscribed and stored.chat_type == "channel"
        assert stored.language == "ru" and stored.timezone == "Asia/Almaty"
    # The channel itself never saw a panel, nor anything else so far.
    assert emulator.sent(CHANNEL) == []

    moment = datetime(2026, 12, 16, 4, 59, 58, tzinfo=UTC)  # 09:59:58 in Almaty
    clock.move_to(moment)
    async with running_bot(config) as app:
        posted = await emulator.next_message(CHANNEL, timeout=15)
        assert posted.text.startswith("🕯") and "Расстрел в Жанаозене" in posted.text
        assert "Сегодня" in posted.text
        await emulator.wait_for(
            lambda: app.bot_data.store.deliveries.state("d:2026-12-16", CHANNEL) == "sent",
            timeout=10,
        )
        # Settings commands posted in the channel get no answer there.
        emulator.channel_post(CHANNEL, "/settings")
        emulator.channel_post(CHANNEL, "/subscribe")
        await service.service(app).sweep(moment + timedelta(minutes=5))
        # An organiser's broadcast reaches the channel too, in the channel's language.
        await service.service(app).fanouts.start_fanout(
            "b:vigil",
            {"kind": "broadcast", "text": {"en": "Vigil at 18:00", "ru": "Пикет в 18:00"}},
        )
        announced = await emulator.next_message(CHANNEL, timeout=10)
        assert announced.text == "Пикет в 18:00"
    assert [m.text for m in emulator.sent(CHANNEL)] == [posted.text, announced.text]


async def test_only_the_channels_administrators_can_set_it_up(app, emulator):
    channel(emulator)
    emulator.set_member_status(CHANNEL, READER, "member")
    refused = await say(emulator, READER, f"/channel @{USERNAME}", "en")
    assert "Only the channel's administrators" in refused.text and not refused.buttons
    assert app.bot_data.store.chat(CHANNEL) is None

    # An administrator opens the panel, then loses the rights: the next press is refused.
    panel = await say(emulator, ADMIN, f"/channel https://t.me/{USERNAME}", "en")
    emulator.set_member_status(CHANNEL, ADMIN, "member")
    update_id = emulator.press(
        ADMIN, panel.message_id, panel.button("Subscribe")["callback_data"], user_id=ADMIN
    )
    answer = await emulator.wait_callback_answer(update_id)
    assert answer.show_alert and "administrators" in answer.text
    assert app.bot_data.store.chat(CHANNEL) is None


async def test_a_channel_where_the_bot_cannot_post_is_refused(app, emulator):
    channel(emulator, bot_may_post=False)
    refused = await say(emulator, ADMIN, f"/channel @{USERNAME}", "en")
    assert "may post messages" in refused.text and not refused.buttons
    unknown = await say(emulator, ADMIN, "/channel @no_such_channel", "en")
    assert "cannot find" in unknown.text
    howto = await say(emulator, ADMIN, "/channel", "en")
    assert "administrator" in howto.text


@pytest.mark.parametrize("lost", ["removed", "demoted"])
async def test_a_channel_that_removed_the_bot_or_its_right_to_post_is_unsubscribed(
    app, emulator, lost
):
    """Telegram answers 403 (removed) or 400 (no right to post): like a blocked private chat,
    the channel is unsubscribed, once, without an ERROR, and the others still get it."""
    channel(emulator)
    store = app.bot_data.store
    await store.put_chat(
        ChatSettings(CHANNEL, chat_type="channel", language="ru", subscribed=True)
    )
    await store.put_chat(ChatSettings(READER, subscribed=True))
    if lost == "removed":
        emulator.set_member_status(CHANNEL, emulator.bot_id, "left")
    else:
        emulator.set_admin(CHANNEL, emulator.bot_id, can_post_messages=False)
    await service.service(app).fanouts.start_fanout(
        "b:vigil", {"kind": "broadcast", "text": {"en": "Vigil at 18:00", "ru": "Пикет в 18:00"}}
    )
    assert (await emulator.next_message(READER, timeout=10)).text == "Vigil at 18:00"
    await emulator.wait_for(lambda: not store.chat(CHANNEL).subscribed, timeout=10)
    assert emulator.sent(CHANNEL) == []
    assert store.deliveries.state("b:vigil", CHANNEL) == "failed"
