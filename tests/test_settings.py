"""Subscribing with buttons, time zones, calendar files, groups and /forget, through the real
Application and the local Bot API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from icalendar import Calendar

from bot.reminders import service
from emulator import Emulator

USER = 42
GROUP = -700
GROUP_ADMIN, GROUP_MEMBER = 5, 6


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 11, 30, 6, tzinfo=UTC), tick=True) as traveller:
        yield traveller


async def say(
    emulator: Emulator,
    text: str,
    chat_id: int = USER,
    *,
    user_id: int | None = None,
    language: str = "en",
    chat_type: str | None = None,
):
    emulator.user_message(
        chat_id, text, user_id=user_id or chat_id, language_code=language, chat_type=chat_type
    )
    return await emulator.next_message(chat_id)


async def press(
    emulator: Emulator, message, label: str, chat_id: int = USER, *, user_id: int | None = None
):
    emulator.press(
        chat_id,
        message.message_id,
        message.button(label)["callback_data"],
        user_id=user_id or chat_id,
    )
    return await emulator.next_message(chat_id)


async def test_every_choice_is_a_button(app, emulator):
    panel = await say(emulator, "/subscribe")
    store = app.bot_data.store
    assert store.chat(USER).subscribed and store.chat(USER).language == "en"
    assert "7 days before, 1 day before, on the day" in panel.text

    panel = await press(emulator, panel, "7 days")
    assert store.chat(USER).leads == [1, 0]
    assert "When: 1 day before, on the day" in panel.text

    hours = await press(emulator, panel, "⏰")
    labels = [button["text"] for button in hours.buttons if ":" in button["text"]]
    assert labels[0] == "08:00" and labels[-1] == "21:00", "quiet hours cannot be chosen"
    panel = await press(emulator, hours, "09:00")
    assert store.chat(USER).hour == 9 and "Time: 09:00, UTC" in panel.text

    panel = await press(emulator, panel, "Only 16 December")
    assert store.chat(USER).topics == "dec16"

    cities = await press(emulator, panel, "Protest cities")
    cities = await press(emulator, cities, "Berlin")
    cities = await press(emulator, cities, "London")
    assert store.chat(USER).cities == ["berlin", "london"]
    cities = await press(emulator, cities, "All cities")
    assert store.chat(USER).cities == ["*"]
    panel = await press(emulator, cities, "Back")
    assert "Protests: all cities" in panel.text

    panel = await press(emulator, panel, "Unsubscribe")
    assert not store.chat(USER).subscribed and "Subscribe" in panel.buttons[0]["text"]


async def test_time_zone_by_city_by_name_and_typed(app, emulator):
    store = app.bot_data.store
    zones = await say(emulator, "/timezone")
    await press(emulator, zones, "Aktau")
    assert store.chat(USER).timezone == "Asia/Aqtau"
    assert store.chat(USER).cities == ["aktau"], "the city's protests come with its time"

    reply = await say(emulator, "/timezone europe/vienna")
    assert store.chat(USER).timezone == "Europe/Vienna" and "Europe/Vienna" in reply.text

    zones = await say(emulator, "/timezone")
    prompt = await press(emulator, zones, "Other")
    reply = await say(emulator, "America/Argentina/Buenos_Aires")
    assert store.chat(USER).timezone == "America/Argentina/Buenos_Aires"
    assert "Buenos_Aires" in reply.text and prompt.text

    wrong = await say(emulator, "/timezone Mars/Olympus_Mons")
    assert "Mars/Olympus_Mons" in wrong.text
    assert store.chat(USER).timezone == "America/Argentina/Buenos_Aires"
    # Once the zone is set, free text is a card search again.
    search = await say(emulator, "Tuletaeva")
    assert "Tuletaeva" in search.text


async def test_confirmation_shows_the_next_reminder_in_the_users_zone(app, emulator):
    await say(emulator, "/subscribe", language="ru")
    await say(emulator, "/timezone Europe/Berlin", language="ru")
    settings = app.bot_data.store.chat(USER)
    upcoming = service.service(app).upcoming_for(settings)
    assert upcoming is not None
    local = upcoming.due.astimezone(ZoneInfo("Europe/Berlin"))
    assert local.hour == 10
    panel = await say(emulator, "/settings", language="ru")
    # Babel writes the date in Russian; the time is 10:00 Berlin time.
    assert "10:00 (Берлин)" in panel.text
    assert f"{local.day} " in panel.text and "2026" in panel.text


async def test_calendar_file_has_alarms_at_the_users_lead_times(app, emulator):
    panel = await say(emulator, "/subscribe")
    await say(emulator, "/calendar")
    document = emulator.documents(USER)[-1]
    assert document.file_name.endswith(".ics")
    calendar = Calendar.from_ical(document.data)
    massacre = next(
        event
        for event in calendar.walk("VEVENT")
        if str(event["uid"]).startswith("zhanaozen-massacre@")
    )
    assert massacre["rrule"]["FREQ"] == ["YEARLY"]
    triggers = sorted(alarm["trigger"].dt for alarm in massacre.walk("VALARM"))
    assert triggers == [
        timedelta(days=-7, hours=10),
        timedelta(days=-1, hours=10),
        timedelta(hours=10),
    ]

    await press(emulator, panel, "1 day")
    await say(emulator, "/calendar")
    calendar = Calendar.from_ical(emulator.documents(USER)[-1].data)
    massacre = next(
        event
        for event in calendar.walk("VEVENT")
        if str(event["uid"]).startswith("zhanaozen-massacre@")
    )
    assert len(massacre.walk("VALARM")) == 2


async def test_only_group_admins_change_a_groups_subscription(app, emulator):
    store = app.bot_data.store
    emulator.set_admin(GROUP, GROUP_ADMIN)
    refused = await say(emulator, "/subscribe", GROUP, user_id=GROUP_MEMBER, chat_type="group")
    assert "administrators" in refused.text
    assert store.chat(GROUP) is None

    panel = await say(emulator, "/subscribe", GROUP, user_id=GROUP_ADMIN, chat_type="group")
    assert store.chat(GROUP).subscribed and store.chat(GROUP).chat_type == "group"

    update_id = emulator.press(GROUP, panel.message_id, "rs:unsub", user_id=GROUP_MEMBER)
    answer = await emulator.wait_callback_answer(update_id)
    assert answer.show_alert and "administrators" in answer.text
    assert store.chat(GROUP).subscribed

    # Anyone may look at the settings.
    shown = await say(emulator, "/settings", GROUP, user_id=GROUP_MEMBER, chat_type="group")
    assert "✅" in shown.text


async def test_migrated_group_keeps_its_subscription(app, emulator):
    store = app.bot_data.store
    emulator.set_admin(GROUP, GROUP_ADMIN)
    await say(emulator, "/subscribe", GROUP, user_id=GROUP_ADMIN, chat_type="group")
    new_id = emulator.migrate_group(GROUP, by_user_id=GROUP_ADMIN)
    moved = await emulator.wait_for(lambda: store.chat(new_id), timeout=5)
    assert moved.subscribed and moved.chat_type == "supergroup"
    assert store.chat(GROUP) is None


async def test_forget_erases_the_chat(app, emulator):
    store = app.bot_data.store
    await say(emulator, "/subscribe", language="ru")
    await store.deliveries.set([("a:zhanaozen-massacre:2026:7", USER, "sent")])
    question = await say(emulator, "/forget")
    emulator.press(USER, question.message_id, "rs:forgetok", user_id=USER)
    await emulator.next_message(USER)
    assert store.chat(USER) is None
    assert store.deliveries.state("a:zhanaozen-massacre:2026:7", USER) is None


async def test_unsubscribe_keeps_the_choices(app, emulator):
    store = app.bot_data.store
    await say(emulator, "/subscribe")
    await say(emulator, "/timezone Asia/Almaty")
    reply = await say(emulator, "/unsubscribe")
    assert "/forget" in reply.text
    settings = store.chat(USER)
    assert not settings.subscribed and settings.timezone == "Asia/Almaty"


async def test_the_time_zone_screen_names_the_city_pressed(app, emulator):
    """A reader who presses «Москва» is told «Москва», not "Europe/Moscow"; of two cities in
    one zone (Almaty, Astana), the one pressed."""
    await say(emulator, "/subscribe", language="ru")
    zones = await say(emulator, "/timezone", language="ru")
    panel = await press(emulator, zones, "Москва")
    assert "Часовой пояс сохранён: Москва." in panel.text
    assert "(Москва)" in panel.text and "Europe/Moscow" not in panel.text
    assert app.bot_data.store.chat(USER).timezone == "Europe/Moscow"
    zones = await say(emulator, "/timezone", language="ru")
    panel = await press(emulator, zones, "Астана")
    assert "Часовой пояс сохранён: Астана." in panel.text
