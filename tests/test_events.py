"""Protest events: listing, calendar files, /event_add checks and cancellation notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from chat import press, say
from conftest import ADMIN_ID
from icalendar import Calendar
from test_reminders import card, event

from bot.content.library import Library, content_documents
from bot.content.loading import load_content
from bot.i18n import translator
from bot.protests import model, wording
from bot.protests.repository import ProtestRepository
from bot.reminders import broadcasts, service
from bot.reminders.broadcasts import FANOUTS
from bot.reminders.calendar import event_calendar, reminders_calendar
from bot.store.models import ChatSettings
from bot.store.repository import Store
from emulator.telegram_html import parse_html

USER, OTHER = 42, 43
NOW = datetime(2026, 11, 30, 6, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


# Pure logic --------------------------------------------------------------------------------


def test_new_event_ids_are_readable_and_unique():
    starts = datetime(2026, 12, 16, 12)
    assert model.new_event_id("New York", starts, []) == "new-york-2026-12-16"
    assert model.new_event_id("Almaty", starts, ["almaty-2026-12-16"]) == "almaty-2026-12-16-2"


def test_upcoming_puts_the_chats_cities_first_and_drops_past_and_cancelled():
    london = event("london-2026-12-12", "London", "2026-12-12T13:00:00", "Europe/London")
    almaty = event("almaty-2026-12-16")
    past = event("almaty-2026-11-01", starts="2026-11-01T12:00:00")
    off = event("almaty-2026-12-20", starts="2026-12-20T12:00:00").model_copy(
        update={"cancelled": True}
    )
    chat = ChatSettings(1, cities=["almaty"])
    listed = model.upcoming([london, almaty, past, off], NOW, chat)
    assert [e.id for e in listed] == ["almaty-2026-12-16", "london-2026-12-12"]
    assert [e.id for e in model.upcoming([london, almaty], NOW)] == [
        "london-2026-12-12",
        "almaty-2026-12-16",
    ]
    assert model.nearby([london, almaty], chat, NOW) == [almaty]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_event_texts_are_valid_telegram_html(language):
    tr = translator(language)
    protest = event().model_copy(update={"link": "https://example.org/?a=1&b=<2>"})
    for text in (
        wording.describe(tr, protest, "Europe/London"),
        wording.reminder_text(tr, protest, 7, "Asia/Almaty"),
        wording.cancellation_text(tr, protest),
        wording.list_text(tr, [protest], None),
    ):
        parsed = parse_html(text)
        assert ("Алматы" if language == "ru" else "Almaty") in parsed.text
    # Somebody in London sees the venue's time and their own.
    assert "07:00" in parse_html(wording.describe(tr, protest, "Europe/London")).text


def test_event_calendar_file():
    tr = translator("en")
    data = event_calendar(tr, event(), ChatSettings(1, leads=[7, 0]), NOW)
    calendar = Calendar.from_ical(data)
    (entry,) = calendar.walk("VEVENT")
    assert entry["dtstart"].dt == datetime(2026, 12, 16, 7, tzinfo=UTC)
    assert str(entry["dtstart"].params["TZID"]) == "Asia/Almaty"
    assert calendar.walk("VTIMEZONE"), "the zone travels with the file"
    assert sorted(a["trigger"].dt for a in entry.walk("VALARM")) == [
        timedelta(days=-7),
        timedelta(hours=-1),
    ]
    cancelled = Calendar.from_ical(
        event_calendar(tr, event().model_copy(update={"cancelled": True}), None, NOW)
    )
    assert cancelled.walk("VEVENT")[0]["status"] == "CANCELLED"


def test_leap_day_anniversary_recurs_on_the_last_day_of_february():
    data = reminders_calendar(
        translator("ru"),
        [card("leap-day", "2012-02-29", ("strike",))],
        [],
        ChatSettings(1),
        "zhanaozen_test_bot",
        NOW,
    )
    (entry,) = Calendar.from_ical(data).walk("VEVENT")
    assert entry["rrule"]["BYMONTHDAY"] == [-1] and entry["rrule"]["BYMONTH"] == [2]


async def test_cancel_event_and_who_was_reminded(tmp_path):
    store = Store.open(tmp_path)
    library = Library([], [], [event()])
    await store.deliveries.set(
        [
            ("e:almaty-2026-12-16:7", 1, "sent"),
            ("e:almaty-2026-12-16:1", 2, "uncertain"),
            ("e:almaty-2026-12-16:1", 3, "failed"),
        ]
    )
    protests = ProtestRepository(library, store)
    cancelled = await protests.cancel("almaty-2026-12-16")
    assert cancelled is not None and cancelled.cancelled
    assert protests.find("almaty-2026-12-16").cancelled
    assert await protests.cancel("almaty-2026-12-16") is None
    assert broadcasts.reminded_chats(store, "almaty-2026-12-16") == [1, 2]
    await store.aclose()


async def test_stored_protests_are_validated_once_per_change(tmp_path):
    """Lists, buttons and sweeps all read the protests: they share one validated copy until
    ``events.json`` changes, and see a change at once."""
    store = Store.open(tmp_path)
    protests = ProtestRepository(Library([], [], []), store)
    await protests.save(event())
    (first,) = protests.all()
    (again,) = protests.all()
    assert again is first  # not validated a second time
    await store.set_meta("unrelated", 1)  # any write to events.json may change them
    await protests.save(first.model_copy(update={"cancelled": True}))
    (changed,) = protests.all()
    assert changed is not first and changed.cancelled
    await store.aclose()


def test_content_events_load_through_the_library():
    library = Library.from_documents(content_documents(load_content()))
    for protest in library.content_events.values():
        assert model.city_key(protest.city.en)


# Through the bot ---------------------------------------------------------------------------


async def test_protests_list_with_a_calendar_file_each(app, emulator):
    store = app.bot_data.store
    await app.bot_data.protests.save(event())
    await store.put_chat(
        ChatSettings(
            USER, language="ru", timezone="Asia/Almaty", cities=["almaty"], subscribed=True
        )
    )
    listed = await say(emulator, USER, "/protests", "ru")
    assert "Старая площадь" in listed.text
    document = await press(emulator, USER, listed, "📅")
    assert document.document.file_name == "almaty-2026-12-16.ics"
    assert Calendar.from_ical(document.document.data).walk("VEVENT")


async def test_cancelling_tells_only_those_already_reminded(app, emulator):
    store = app.bot_data.store
    reminder_service = service.service(app)
    await app.bot_data.protests.save(event())
    await store.put_chat(
        ChatSettings(
            USER,
            language="ru",
            timezone="Asia/Almaty",
            cities=["almaty"],
            subscribed=True,
            topics="dec16",
            leads=[7, 1],
        )
    )
    await store.put_chat(
        ChatSettings(
            OTHER,
            timezone="Europe/London",
            cities=["london"],
            subscribed=True,
            topics="dec16",
            leads=[7, 1],
        )
    )
    await reminder_service.sweep(datetime(2026, 12, 9, 5, 0, 1, tzinfo=UTC))
    # One message that day: the massacre and the protest together, logged by day.
    assert store.deliveries.state("d:2026-12-09", USER) == "sent"
    (reminder,) = [m for m in emulator.sent(USER) if not m.edited]
    assert "Жанаозен" in reminder.text and "Старая площадь" in reminder.text
    assert store.deliveries.state("d:2026-12-09", OTHER) is None

    choose = await say(emulator, ADMIN_ID, "/event_cancel")
    confirm = await press(emulator, ADMIN_ID, choose, "Almaty")
    assert "Old Square" in confirm.text
    done = await press(emulator, ADMIN_ID, confirm, "Yes")
    assert "1" in done.text
    notice = await emulator.wait_for(
        lambda: [m for m in emulator.sent(USER) if m.text.startswith("❌")], timeout=10
    )
    assert "Старая площадь" in notice[0].text
    assert not [m for m in emulator.sent(OTHER) if m.text.startswith("❌")]
    # No further reminder of a cancelled protest.
    await emulator.wait_for(lambda: not store.meta(FANOUTS), timeout=10)
    result = await reminder_service.sweep(datetime(2026, 12, 15, 5, 0, 1, tzinfo=UTC))
    assert store.deliveries.state("d:2026-12-15", USER) == "sent" and result.failed == 0
    last = [m for m in emulator.sent(USER) if not m.edited][-1]
    assert "Жанаозен" in last.text and "Старая площадь" not in last.text
