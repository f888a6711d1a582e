"""Changing a protest (/event_edit, or its file): one notice each to the chats told of it,
later reminders and calendar files with the new details, and nobody else told anything."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import time_machine
from chat import press, say
from conftest import ADMIN_ID, running_bot
from icalendar import Calendar
from test_reminders import event

from bot.content import loading
from bot.reminders import service
from bot.reminders.broadcasts import FANOUTS
from bot.store.models import ChatSettings
from bot.store.repository import Store

USER, NEVER, LONDON = 42, 44, 43
NOW = datetime(2026, 11, 30, 6, tzinfo=UTC)
DAY_7 = datetime(2026, 12, 9, 5, 0, 1, tzinfo=UTC)
"""10:00 in Almaty on 9 December: the 7-day reminders of the massacre and of the protest."""


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def follower(
    chat_id: int, language: str = "ru", city: str = "almaty", leads: tuple[int, ...] = (7, 1)
) -> ChatSettings:
    return ChatSettings(
        chat_id,
        language=language,
        timezone="Asia/Almaty",
        cities=[city],
        subscribed=True,
        topics="dec16",
        leads=list(leads),
    )


def notices(emulator, chat_id: int, mark: str) -> list:
    return [m for m in emulator.sent(chat_id) if not m.edited and m.text.startswith(mark)]


async def calendar_entry(emulator, chat_id: int):
    """The protest's entry in the calendar file its 📅 button under /protests sends."""
    had = len(emulator.documents(chat_id))
    emulator.user_message(chat_id, "/protests", user_id=chat_id)
    listed = await emulator.wait_for(
        lambda: [
            m
            for m in emulator.sent(chat_id)
            if "📅" in str(m.reply_markup)
            and m.text.startswith(("Upcoming", "Ближайшие"))
            and not m.edited
        ][had:]
    )
    emulator.press(
        chat_id, listed[0].message_id, listed[0].button("📅")["callback_data"], user_id=chat_id
    )
    documents = await emulator.wait_for(lambda: emulator.documents(chat_id)[had:])
    (entry,) = Calendar.from_ical(documents[0].data).walk("VEVENT")
    return entry


async def test_marks_are_keyed_hashes_and_forget_removes_them(tmp_path):
    store = Store.open(tmp_path)
    await store.set_deliveries_telling(
        [("d:2026-12-09", 7, "pending")], [("almaty-2026-12-16", 7)]
    )
    assert store.marks.was_told("almaty-2026-12-16", 7)
    assert not store.marks.was_told("almaty-2026-12-16", 8)
    assert store.marks.told_among("almaty-2026-12-16", [6, 7, 8]) == [7]
    # A group that becomes a supergroup keeps its marks under its new id.
    await store.put_chat(ChatSettings(-5, subscribed=True))
    await store.set_deliveries_telling([], [("almaty-2026-12-16", -5)])
    assert await store.marks.set_coming("almaty-2026-12-16", -5, True) == 1
    await store.migrate_chat(-5, -1005)
    assert store.marks.was_told("almaty-2026-12-16", -1005)
    assert not store.marks.was_told("almaty-2026-12-16", -5)
    assert store.marks.is_coming("almaty-2026-12-16", -1005)
    assert store.marks.coming_count("almaty-2026-12-16") == 1
    await store.put_chat(ChatSettings(7, subscribed=True))
    await store.forget_chat(7)
    assert not store.marks.was_told("almaty-2026-12-16", 7)
    await store.aclose()
    reopened = Store.open(tmp_path)
    assert not reopened.marks.was_told("almaty-2026-12-16", 7)
    assert await reopened.marks.drop(["almaty-2026-12-16"]) == 1
    assert reopened.marks.protest_ids() == []
    await reopened.aclose()


async def test_an_edit_tells_exactly_those_told_once_each(app, emulator):
    store = app.bot_data.store
    reminder_service = service.service(app)
    # NEVER's day message goes out before the protest exists: it is not told of it (and it
    # hears of nothing a day before, so it is never told).
    await store.put_chat(follower(NEVER, "en", leads=(7,)))
    await reminder_service.sweep(DAY_7)
    assert store.deliveries.state("d:2026-12-09", NEVER) == "sent"
    await app.bot_data.protests.save(event())
    await reminder_service.fanouts.protests_changed()
    await store.put_chat(follower(USER))
    await store.put_chat(follower(LONDON, "en", "london"))
    await reminder_service.sweep(DAY_7)
    (reminder,) = [m for m in emulator.sent(USER) if not m.edited]
    assert "Старая площадь" in reminder.text and "12:00" in reminder.text
    before = await calendar_entry(emulator, USER)
    assert before["sequence"] == 0

    # The organiser moves it by an hour: Keep, Keep, Keep, the new time, Keep to the end.
    choose = await say(emulator, ADMIN_ID, "/event_edit")
    step = await press(emulator, ADMIN_ID, choose, "Almaty")
    assert "Almaty / Алматы" in step.text
    for _ in range(3):
        step = await press(emulator, ADMIN_ID, step, "Keep")
    assert "2026-12-16 12:00" in step.text
    refused = await say(emulator, ADMIN_ID, "2026-11-01 12:00")
    assert "already passed" in refused.text
    zone = await say(emulator, ADMIN_ID, "2026-12-16 13:00")
    assert "Asia/Almaty" in zone.text
    refused = await say(emulator, ADMIN_ID, "Mars/Olympus")
    assert "time zone" in refused.text
    step = await press(emulator, ADMIN_ID, refused, "Keep")
    step = await press(emulator, ADMIN_ID, step, "Keep")  # organiser
    refused = await say(emulator, ADMIN_ID, "ftp://example.org/")
    assert "https://" in refused.text
    step = await press(emulator, ADMIN_ID, refused, "Keep")  # link
    preview = await press(emulator, ADMIN_ID, step, "Keep")  # note
    assert "12:00 → 13:00" in preview.text
    done = await press(emulator, ADMIN_ID, preview, "Publish")
    assert "Changed" in done.text

    (notice,) = await emulator.wait_for(lambda: notices(emulator, USER, "✏️"), timeout=10)
    assert "12:00 → 13:00" in notice.text and "Алматы" in notice.text
    await emulator.wait_for(lambda: not store.meta(FANOUTS), timeout=10)
    assert not notices(emulator, NEVER, "✏️") and not notices(emulator, LONDON, "✏️")
    # Exactly once: a restart of the check (as at the next start) sends nothing more.
    assert await reminder_service.fanouts.protests_changed() == 0

    after = await calendar_entry(emulator, USER)
    assert after["uid"] == before["uid"] and after["sequence"] == 1
    assert after["dtstart"].dt.hour == 13
    await reminder_service.sweep(datetime(2026, 12, 15, 5, 0, 1, tzinfo=UTC))
    last = [m for m in emulator.sent(USER) if not m.edited and "Старая" in m.text][-1]
    assert "13:00" in last.text and "12:00" not in last.text

    # The cancellation too reaches only those told.
    choose = await say(emulator, ADMIN_ID, "/event_cancel")
    confirm = await press(emulator, ADMIN_ID, choose, "Almaty")
    await press(emulator, ADMIN_ID, confirm, "Yes")
    await emulator.wait_for(lambda: notices(emulator, USER, "❌"), timeout=10)
    await emulator.wait_for(lambda: not store.meta(FANOUTS), timeout=10)
    assert not notices(emulator, NEVER, "❌") and not notices(emulator, LONDON, "❌")
    assert len(notices(emulator, USER, "✏️")) == 1
    entry = app.bot_data.protests.find("almaty-2026-12-16")
    assert entry is not None and entry.cancelled and entry.sequence == 2


async def test_a_changed_protest_file_is_told_at_the_next_start(config, emulator, monkeypatch):
    real = loading.load_content()
    version = {"starts": "2026-12-16T12:00:00"}

    def content_with_the_file(*_args):
        changed = event(starts=version["starts"])
        return dataclasses.replace(real, events={changed.id: changed})

    monkeypatch.setattr("bot.app.load_content", content_with_the_file)
    # The files' fingerprint changes with them, so the start loads them again.
    monkeypatch.setattr("bot.app.content_fingerprint", lambda _root: version["starts"])
    async with running_bot(config) as app:
        store = app.bot_data.store
        await store.put_chat(follower(USER))
        await store.put_chat(follower(NEVER, "en", "london"))
        await service.service(app).sweep(DAY_7)
        assert store.marks.was_told("almaty-2026-12-16", USER)
    version["starts"] = "2026-12-16T14:30:00"
    async with running_bot(config) as app:
        (notice,) = await emulator.wait_for(lambda: notices(emulator, USER, "✏️"), timeout=10)
        assert "14:30" in notice.text
        await emulator.wait_for(lambda: not app.bot_data.store.meta(FANOUTS), timeout=10)
    async with running_bot(config) as app:
        found = app.bot_data.protests.find("almaty-2026-12-16")
        assert found is not None and found.sequence == 1
    assert len(notices(emulator, USER, "✏️")) == 1 and not notices(emulator, NEVER, "✏️")


async def test_event_add_refuses_a_past_start_at_its_step(app, emulator):
    await say(emulator, ADMIN_ID, "/event_add")
    assert "Step 1" in (await emulator.next_message(ADMIN_ID)).text
    for answer in ("Almaty", "Old Square / Старая площадь", "Abylai Khan Ave"):
        asked = await say(emulator, ADMIN_ID, answer)
    assert "Step 4" in asked.text
    refused = await say(emulator, ADMIN_ID, "2026-11-29 12:00")
    assert "already passed" in refused.text and "Step 4" in refused.text
    zone = await say(emulator, ADMIN_ID, "2026-12-16 12:00")
    assert "Step 5" in zone.text


def test_the_form_refuses_a_start_past_at_the_venue():
    """A start not yet past at UTC−12 but past in the venue's zone is caught at the end."""
    from bot.i18n import translator
    from bot.protests.form import already_passed, build_event, current_values

    data = current_values(event(starts="2026-11-30T05:00:00", zone="Europe/London"))
    assert already_passed(data["starts"], "Europe/London")
    assert not already_passed(data["starts"], "Etc/GMT+12")
    built, problem = build_event(translator("ru"), data, [], event_id="almaty-2026-12-16")
    assert built is None and problem == "Это время уже прошло."
