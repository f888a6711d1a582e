"""Following a case end to end: the real Application, its JobQueue and the local Bot API.

The content is a copy of ``content/`` that the test gives an update of its own (with a
source of its own): no real card carries invented news. The clock is moved with
time-machine as in ``test_scheduling``.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import chat
import pytest
import time_machine
from conftest import ADMIN_ID, BOT_USERNAME, make_config, running_bot

from bot.content.loading import CONTENT_DIR
from bot.reminders import news, service
from emulator import Emulator

CARD = "roza-tuletaeva"
FOLLOWER, BOTH, SUBSCRIBER, NEWCOMER = 51, 52, 53, 54
"""Follows the card only; subscribed and follows it; subscribed only; follows it once the
news is on the card."""
NEWS_EN = "Test fixture: a court reviewed the case (recorded by the tests, not news)."
NEWS_RU = "Тестовая запись: суд пересмотрел дело (запись тестов, не новость)."
NEWS_KK = "Тест жазбасы: сот істі қайта қарады (тест жазбасы, жаңалық емес)."
SOURCE_TITLE = "Fixture source for the tests"
UPDATE_DAY = "2026-12-08"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 12, 5, 6, tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    return root


def add_update(root: Path, day: str = UPDATE_DAY) -> None:
    """What an editor does: a source file, and an update on the card citing it."""
    (root / "sources" / "test-fixture-news.yaml").write_text(
        "id: test-fixture-news\npublication: Test Fixture Gazette\n"
        f'title: {SOURCE_TITLE}\ndate: "{day}"\n',
        encoding="utf-8",
    )
    card = root / "people" / f"{CARD}.yaml"
    card.write_text(
        card.read_text(encoding="utf-8")
        + (
            "updates:\n"
            f'  - date: "{day}"\n'
            f'    en: "{NEWS_EN}"\n'
            f'    ru: "{NEWS_RU}"\n'
            f'    kk: "{NEWS_KK}"\n'  # the card is written in Kazakh too: so is its news
            "    sources: [test-fixture-news]\n"
        ),
        encoding="utf-8",
    )


async def follow(emulator: Emulator, chat_id: int, language: str = "en"):
    """Open the card and press 🔔 Follow; returns the card with its new keyboard."""
    card = await chat.say(emulator, chat_id, "/prisoner Tuletaeva", language)
    assert card.button("🔔")["callback_data"] == f"fol:on:{CARD}:0"
    edited = await chat.press(emulator, chat_id, card, "🔔", language)
    assert edited.edited and edited.button("🔕")["callback_data"] == f"fol:off:{CARD}:0"
    return edited


def texts_after(emulator: Emulator, chat_id: int, start: int) -> list:
    return [m for m in emulator.sent(chat_id)[start:] if not m.edited]


async def swept_since(app, emulator: Emulator, moment: datetime) -> None:
    store = app.bot_data.store

    def done() -> bool:
        last = store.meta(service.LAST_SWEPT)
        return bool(last) and datetime.fromisoformat(last) >= moment

    await emulator.wait_for(done, timeout=10, what="a finished sweep")


async def test_done_means_one_message_of_news_at_the_chats_hour(
    emulator, data_dir, content, clock
):
    """A chat follows a card, the content gains an update, the bot restarts: the follower
    gets exactly one message at its hour (10:00 UTC) with the update's text, its source and
    a button to the card; a subscriber who also follows gets the news folded into that day's
    reminder (one message); a subscriber who does not follow gets no news; later restarts,
    that day and the next, send nothing again."""
    config = make_config(emulator, data_dir, content_dir=content)
    async with running_bot(config):
        await follow(emulator, FOLLOWER)
        for chat_id in (BOTH, SUBSCRIBER):
            await chat.say(emulator, chat_id, "/subscribe", "ru")
        await follow(emulator, BOTH, "ru")
    before = {chat_id: len(emulator.sent(chat_id)) for chat_id in (FOLLOWER, BOTH, SUBSCRIBER)}

    add_update(content)
    moment = datetime(2026, 12, 9, 9, 59, 57, tzinfo=UTC)  # 7 days before 16 December
    clock.move_to(moment)
    async with running_bot(config) as app:
        store = app.bot_data.store
        await emulator.wait_for(
            lambda: all(texts_after(emulator, c, before[c]) for c in before),
            timeout=15,
            what="the messages",
        )
        arrived = datetime.now(UTC)
        assert (
            datetime(2026, 12, 9, 10, tzinfo=UTC)
            <= arrived
            < datetime(2026, 12, 9, 10, 1, tzinfo=UTC)
        ), "sent at the chat's hour"
        await swept_since(app, emulator, moment + timedelta(seconds=3))
        key = news.news_key(CARD, UPDATE_DAY)
        assert store.deliveries.state(key, FOLLOWER) == store.deliveries.state(key, BOTH) == "sent"
        assert store.deliveries.state(key, SUBSCRIBER) is None

    (alone,) = texts_after(emulator, FOLLOWER, before[FOLLOWER])
    assert NEWS_EN in alone.text and SOURCE_TITLE in alone.text
    assert "Test Fixture Gazette" in alone.text and "Roza Tuletaeva" in alone.text
    assert alone.buttons == [{"text": "Open the card", "callback_data": f"card:{CARD}"}]
    (folded,) = texts_after(emulator, BOTH, before[BOTH])
    assert NEWS_RU in folded.text and "Расстрел в Жанаозене" in folded.text
    assert f"card:{CARD}" in [button["callback_data"] for button in folded.buttons]
    (reminder,) = texts_after(emulator, SUBSCRIBER, before[SUBSCRIBER])
    assert "Расстрел в Жанаозене" in reminder.text and NEWS_RU not in reminder.text

    # A restart that day (the catch-up sweep), then the next day at the chat's hour. A chat
    # that starts following after the news came has read it on the card: not sent it.
    for later, swept in (
        (moment + timedelta(minutes=20), timedelta(0)),
        (moment + timedelta(days=1), timedelta(seconds=3)),
    ):
        clock.move_to(later)
        async with running_bot(config) as app:
            await swept_since(app, emulator, later + swept)
            if swept == timedelta(0):
                card = await follow(emulator, NEWCOMER)
                assert NEWS_EN in card.text
                newcomer = len(emulator.sent(NEWCOMER))
    assert len(texts_after(emulator, FOLLOWER, before[FOLLOWER])) == 1
    assert texts_after(emulator, NEWCOMER, newcomer) == []
    for chat_id in (BOTH, SUBSCRIBER):
        assert not any(
            NEWS_RU in m.text for m in texts_after(emulator, chat_id, before[chat_id] + 1)
        )


async def test_following_survives_restarts_and_forget_removes_it(emulator, data_dir, content):
    """The follow is stored (card id against the chat), shown under the card and in the
    settings with a way to stop, kept across a restart, and gone after /forget."""
    config = make_config(emulator, data_dir, content_dir=content)
    async with running_bot(config):
        await follow(emulator, FOLLOWER)
    async with running_bot(config) as app:
        assert app.bot_data.store.chat(FOLLOWER).follows == [CARD]
        card = await chat.say(emulator, FOLLOWER, "/prisoner Tuletaeva")
        assert card.button("🔕")["callback_data"] == f"fol:off:{CARD}:0"
        stats = await chat.say(emulator, ADMIN_ID, "/stats")
        assert "Chats following each case: Roza Tuletaeva: 1" in stats.text
        panel = await chat.say(emulator, FOLLOWER, "/settings")
        assert "Roza Tuletaeva" in panel.text
        listed = await chat.press(emulator, FOLLOWER, panel, "Cases you follow")
        assert "Roza Tuletaeva" in listed.text
        assert listed.button("Roza")["callback_data"] == f"fol:stop:{CARD}"
        confirm = await chat.say(emulator, FOLLOWER, "/forget")
        await chat.press(emulator, FOLLOWER, confirm, "Delete everything")
        assert app.bot_data.store.chat(FOLLOWER) is None
    assert CARD not in (data_dir / "chats.json").read_text()
    async with running_bot(config):
        card = await chat.say(emulator, FOLLOWER, "/prisoner Tuletaeva")
        assert card.button("🔔")["callback_data"] == f"fol:on:{CARD}:0"


async def test_stop_following_and_no_news_after(emulator, data_dir, content, clock):
    """Pressing again stops following: an update then reaches nobody."""
    config = make_config(emulator, data_dir, content_dir=content)
    async with running_bot(config) as app:
        edited = await follow(emulator, FOLLOWER)
        again = await chat.press(emulator, FOLLOWER, edited, "🔕")
        assert again.button("🔔")["callback_data"] == f"fol:on:{CARD}:0"
        assert app.bot_data.store.chat(FOLLOWER).follows == []
        await chat.say(emulator, SUBSCRIBER, "/subscribe")  # so that a sweep runs at 10:00
    start = len(emulator.sent(FOLLOWER))
    add_update(content)
    moment = datetime(2026, 12, 9, 9, 59, 57, tzinfo=UTC)
    clock.move_to(moment)
    async with running_bot(config) as app:
        await swept_since(app, emulator, moment + timedelta(seconds=3))
    assert texts_after(emulator, FOLLOWER, start) == []


GROUP, MEMBER, GROUP_ADMIN = -300, 7, 8


async def test_a_group_follows_as_its_administrators_choose(app, emulator):
    """Anyone in a group may open a card there; only its administrators may follow it."""
    emulator.bot_added_to_group(GROUP, GROUP_ADMIN)
    await emulator.next_message(GROUP)
    emulator.set_admin(GROUP, GROUP_ADMIN)
    emulator.set_member_status(GROUP, MEMBER, "member")
    emulator.user_message(GROUP, f"/card@{BOT_USERNAME} Tuletaeva", user_id=MEMBER)
    card = await emulator.next_message(GROUP)
    data = card.button("🔔")["callback_data"]
    answer = await emulator.wait_callback_answer(
        emulator.press(GROUP, card.message_id, data, user_id=MEMBER)
    )
    assert answer.show_alert and "administrators" in answer.text
    assert app.bot_data.store.chat(GROUP) is None
    answer = await emulator.wait_callback_answer(
        emulator.press(GROUP, card.message_id, data, user_id=GROUP_ADMIN)
    )
    assert "Following" in answer.text
    assert app.bot_data.store.chat(GROUP).follows == [CARD]


CHANNEL, CHANNEL_ADMIN = -1001234567890, 61


async def test_a_channel_follows_as_its_administrators_choose(emulator, data_dir, content, clock):
    """A channel's administrator picks the case in the channel's panel, in private; the news
    is posted in the channel, in its language, at its hour."""
    emulator.add_channel(CHANNEL, "campaign_kz", title="Zhanaozen solidarity")
    emulator.set_admin(CHANNEL, CHANNEL_ADMIN, "creator")
    emulator.set_admin(CHANNEL, emulator.bot_id, can_post_messages=True)
    config = make_config(emulator, data_dir, content_dir=content)
    async with running_bot(config) as app:
        panel = await chat.say(emulator, CHANNEL_ADMIN, "/channel @campaign_kz", "ru")
        picker = await chat.press(
            emulator, CHANNEL_ADMIN, panel, "Канал следит за делами: 0", "ru"
        )
        while not any("Тулетаева" in button["text"] for button in picker.buttons):
            picker = await chat.press(emulator, CHANNEL_ADMIN, picker, "▸", "ru")
        picker = await chat.press(emulator, CHANNEL_ADMIN, picker, "Тулетаева", "ru")
        assert picker.button("Тулетаева")["text"].startswith("✓")
        assert app.bot_data.store.chat(CHANNEL).follows == [CARD]
    assert emulator.sent(CHANNEL) == []
    add_update(content)
    moment = datetime(2026, 12, 9, 9, 59, 57, tzinfo=UTC)
    clock.move_to(moment)
    async with running_bot(config):
        posted = await emulator.wait_for(
            lambda: emulator.sent(CHANNEL), timeout=15, what="the news in the channel"
        )
    assert len(posted) == 1 and NEWS_RU in posted[0].text


async def test_a_follower_who_blocked_the_bot_follows_no_more(emulator, data_dir, content, clock):
    """Telegram answers 403 to the news: the chat is left without follows, like an
    unsubscribed one, and the fan-out goes on."""
    config = make_config(emulator, data_dir, content_dir=content)
    async with running_bot(config):
        await follow(emulator, FOLLOWER)
        await follow(emulator, BOTH)
    emulator.block(FOLLOWER)
    add_update(content)
    moment = datetime(2026, 12, 9, 9, 59, 57, tzinfo=UTC)
    clock.move_to(moment)
    async with running_bot(config) as app:
        await swept_since(app, emulator, moment + timedelta(seconds=3))
        assert app.bot_data.store.chat(FOLLOWER).follows == []
        assert app.bot_data.store.chat(BOTH).follows == [CARD]
    assert any(NEWS_EN in m.text for m in emulator.sent(BOTH))
