"""When reminders fall due: pure logic, with plain datetimes as the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st
from sweep_model import plan_sweep

from bot.content.schema import Card, ProtestEvent
from bot.i18n import translator
from bot.protests.model import city_key
from bot.reminders.schedule import (
    anniversary_in,
    due_between,
    due_instants,
    event_due,
    next_reminder,
    sweep_window,
)
from bot.reminders.texts import anniversary_text, first_sentence
from bot.store.models import ChatSettings
from bot.zones import canonical_zone, delivery_hour, in_quiet_hours, quiet_hours_end

ALMATY = ZoneInfo("Asia/Almaty")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def card(
    card_id: str = "zhanaozen-massacre",
    day: str = "2011-12-16",
    topics: tuple[str, ...] = ("dec16",),
    commemorated: bool = True,
    mourning: bool = True,
) -> Card:
    return Card.model_validate(
        {
            "id": card_id,
            "kind": "anniversary",
            "date": day,
            "topics": list(topics),
            "commemorated": commemorated,
            "mourning": mourning,
            "name": {"en": "The Zhanaozen massacre", "ru": "Расстрел в Жанаозене"},
            "summary": {
                "en": "Police fired on strikers. Many died.",
                "ru": "Полиция стреляла в бастующих. Многие погибли.",
                "sources": ["s"],
            },
        }
    )


def event(
    event_id: str = "almaty-2026-12-16",
    city: str = "Almaty",
    starts: str = "2026-12-16T12:00:00",
    zone: str = "Asia/Almaty",
) -> ProtestEvent:
    return ProtestEvent.model_validate(
        {
            "id": event_id,
            "city": {"en": city, "ru": "Алматы"},
            "venue": {"en": "Old Square", "ru": "Старая площадь"},
            "address": "Abylai Khan Ave",
            "starts_at": starts,
            "timezone": zone,
            "organiser": {"en": "Solidarity group", "ru": "Группа солидарности"},
        }
    )


def chat(chat_id: int = 1, **changes) -> ChatSettings:
    return ChatSettings(chat_id=chat_id, subscribed=True, **changes)


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)


def test_almaty_subscriber_gets_three_reminders_at_ten_local() -> None:
    almaty = chat(timezone="Asia/Almaty", language="ru")
    found = due_between(
        [almaty], [card()], [], local(ALMATY, 2026, 12, 1), local(ALMATY, 2026, 12, 31)
    )
    assert [(r.key, r.due) for r in found] == [
        ("a:zhanaozen-massacre:2026:7", local(ALMATY, 2026, 12, 9, 10)),
        ("a:zhanaozen-massacre:2026:1", local(ALMATY, 2026, 12, 15, 10)),
        ("a:zhanaozen-massacre:2026:0", local(ALMATY, 2026, 12, 16, 10)),
    ]
    assert all(r.day == date(2026, 12, 16) for r in found)
    assert found[0].due == datetime(2026, 12, 9, 5, tzinfo=UTC)  # Almaty is UTC+5 since 2024


def test_daylight_saving_change_keeps_the_local_hour() -> None:
    """Europe/Berlin moves to summer time on 29 March 2026: the 7-day reminder is in winter
    time, the same-day one in summer time, both at 10:00 on the wall clock."""
    berlin = chat(timezone="Europe/Berlin")
    spring = card("spring-day", "2012-04-01", ("strike",))
    found = due_between(
        [berlin], [spring], [], local(BERLIN, 2026, 3, 20), local(BERLIN, 2026, 4, 2)
    )
    assert [r.due for r in found] == [
        datetime(2026, 3, 25, 9, tzinfo=UTC),
        datetime(2026, 3, 31, 8, tzinfo=UTC),
        datetime(2026, 4, 1, 8, tzinfo=UTC),
    ]
    assert all(r.due.astimezone(BERLIN).hour == 10 for r in found)


def test_daylight_saving_autumn_in_new_york() -> None:
    york = chat(timezone="America/New_York", hour=8, leads=[1])
    autumn = card("autumn-day", "2012-11-02", ("strike",))  # clocks go back on 1 Nov 2026
    (reminder,) = due_between(
        [york], [autumn], [], local(NEW_YORK, 2026, 10, 30), local(NEW_YORK, 2026, 11, 3)
    )
    assert reminder.due == datetime(2026, 11, 1, 13, tzinfo=UTC)
    assert reminder.due.astimezone(NEW_YORK).hour == 8


def test_29_february_falls_on_28_february_in_common_years() -> None:
    leap = card("leap-day", "2012-02-29", ("strike",))
    assert anniversary_in(leap, 2027) == date(2027, 2, 28)
    assert anniversary_in(leap, 2028) == date(2028, 2, 29)
    assert anniversary_in(leap, 2012) is None  # the day itself is not an anniversary
    berlin = chat(timezone="Europe/Berlin", leads=[1, 0])
    common = due_between(
        [berlin], [leap], [], local(BERLIN, 2027, 2, 1), local(BERLIN, 2027, 3, 5)
    )
    assert [(r.key, r.due.astimezone(BERLIN).date()) for r in common] == [
        ("a:leap-day:2027:1", date(2027, 2, 27)),
        ("a:leap-day:2027:0", date(2027, 2, 28)),
    ]
    leap_year = due_between(
        [berlin], [leap], [], local(BERLIN, 2028, 2, 1), local(BERLIN, 2028, 3, 5)
    )
    assert [r.due.astimezone(BERLIN).date() for r in leap_year] == [
        date(2028, 2, 28),
        date(2028, 2, 29),
    ]


def test_topics_and_leads_filter() -> None:
    other = card("strike-day", "2011-07-08", ("strike",))
    dec16_only = chat(topics="dec16", leads=[0])
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    found = due_between([dec16_only], [card(), other], [], *window)
    assert [r.key for r in found] == ["a:zhanaozen-massacre:2026:0"]
    everything = due_between([chat(leads=[7, 1, 0])], [card(), other], [], *window)
    assert len(everything) == 6


def test_only_commemorations_recur_and_16_december_means_the_massacre() -> None:
    """Dated facts (Independence Day, the tenth anniversary's events) stay on the calendar:
    no reminder of them, so none ever counts the years since an anniversary's anniversary."""
    independence = card("independence-day", "1991-12-16", commemorated=False)
    tenth = card("tenth-anniversary-2021", "2021-12-15", commemorated=False)
    verdicts = card("trial-of-37-verdicts", "2012-06-04", ("trials",))
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    cards = [card(), independence, tenth, verdicts]
    everything = due_between([chat(leads=[0])], cards, [], *window)
    assert [r.subject_id for r in everything] == ["trial-of-37-verdicts", "zhanaozen-massacre"]
    dec16 = due_between([chat(topics="dec16", leads=[7, 1, 0])], cards, [], *window)
    assert {r.subject_id for r in dec16} == {"zhanaozen-massacre"} and len(dec16) == 3


def test_month_only_dates_are_never_reminded() -> None:
    vague = card("vague", "2011-12", ("dec16",))
    assert (
        due_between(
            [chat()],
            [vague],
            [],
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
        )
        == []
    )


def test_quiet_hours() -> None:
    assert delivery_hour(23) == 21
    assert delivery_hour(3) == 8
    assert delivery_hour(10) == 10
    assert in_quiet_hours(local(ALMATY, 2026, 12, 9, 22), ALMATY)
    assert in_quiet_hours(local(ALMATY, 2026, 12, 9, 7, 59), ALMATY)
    assert not in_quiet_hours(local(ALMATY, 2026, 12, 9, 8), ALMATY)
    assert quiet_hours_end(local(ALMATY, 2026, 12, 9, 23), ALMATY) == local(
        ALMATY, 2026, 12, 10, 8
    )
    assert quiet_hours_end(local(ALMATY, 2026, 12, 10, 3), ALMATY) == local(
        ALMATY, 2026, 12, 10, 8
    )


@settings(max_examples=200, deadline=None)
@given(
    zone_name=st.sampled_from(
        [
            "Asia/Almaty",
            "Europe/London",
            "America/New_York",
            "Asia/Kolkata",
            "Australia/Adelaide",
            "Pacific/Chatham",
        ]
    ),
    hour=st.integers(0, 23),
    days=st.integers(0, 3000),
)
def test_reminders_never_fall_in_quiet_hours(zone_name: str, hour: int, days: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days)
    subscriber = chat(timezone=zone_name, hour=hour)
    for reminder in due_between(
        [subscriber], [card(), card("leap", "2012-02-29")], [], start, start + timedelta(days=60)
    ):
        assert not in_quiet_hours(reminder.due, ZoneInfo(zone_name))


chat_settings = st.builds(
    chat,
    chat_id=st.integers(1, 40),
    timezone=st.sampled_from(["UTC", "Asia/Almaty", "Europe/Berlin", "America/New_York"]),
    hour=st.integers(0, 23),
    topics=st.sampled_from(["all", "dec16"]),
    leads=st.lists(st.sampled_from([7, 1, 0, 3]), max_size=4),
    cities=st.sampled_from([[], ["*"], ["almaty"], ["london"]]),
)


@settings(max_examples=100, deadline=None)
@given(
    chats=st.lists(chat_settings, max_size=12, unique_by=lambda c: c.chat_id),
    days=st.integers(0, 400),
)
def test_grouped_evaluation_equals_one_chat_at_a_time(
    chats: list[ChatSettings], days: int
) -> None:
    """Schedules are evaluated once per distinct settings; no chat may gain or lose one."""
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days)
    end = start + timedelta(days=20)
    cards = [card(), card("leap", "2012-02-29"), card("spring", "2012-03-10", ())]
    events = [event(starts=(start + timedelta(days=5)).strftime("%Y-%m-%dT12:00:00"))]
    one_by_one = sorted(
        (r for c in chats for r in due_between([c], cards, events, start, end)),
        key=lambda r: (r.due, r.chat_id, r.key),
    )
    assert due_between(chats, cards, events, start, end) == one_by_one
    assert due_instants(chats, cards, events, start, end) == {r.due for r in one_by_one}


@settings(max_examples=100, deadline=None)
@given(
    chats=st.lists(chat_settings, max_size=12, unique_by=lambda c: c.chat_id),
    hours=st.integers(0, 400 * 24),
    logged=st.dictionaries(
        st.integers(1, 40), st.sampled_from(["pending", "sent", "failed", "skipped"])
    ),
)
def test_planning_by_profile_equals_planning_each_message(
    chats: list[ChatSettings], hours: int, logged: dict[int, str]
) -> None:
    """The sweep plans per profile with whole log tables; it must decide exactly what
    planning each chat's messages one lookup at a time decides."""
    from bot.reminders.schedule import digests, due_for_groups, plan_for_groups

    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours)
    start = now - timedelta(days=2)
    cards = [card(), card("leap", "2012-02-29"), card("spring", "2012-03-10", ())]
    events = [event(starts=(now + timedelta(days=1)).strftime("%Y-%m-%dT09:00:00"))]
    groups: dict[tuple, tuple[ChatSettings, list[int]]] = {}
    for c in chats:
        groups.setdefault(profile_key(c), (c, []))[1].append(c.chat_id)
    first_day = {}  # each chat's earliest message key carries its logged state
    for message in digests(due_between(chats, cards, events, start, now)):
        first_day.setdefault(message.chat_id, message.key)
    states = {
        (first_day[chat_id], chat_id): state
        for chat_id, state in logged.items()
        if chat_id in first_day
    }

    def table(key: str) -> dict[int, str]:
        return {chat_id: state for (k, chat_id), state in states.items() if k == key}

    expected = plan_sweep(
        digests(due_for_groups(list(groups.values()), cards, events, start, now)),
        lambda key, chat_id: states.get((key, chat_id)),
        now,
    )
    found = plan_for_groups(list(groups.values()), cards, events, start, now, table, now)

    def seen(message) -> tuple:
        return (
            message.key,
            message.chat_id,
            message.due,
            message.timezone,
            [(r.kind, r.subject_id, r.lead, r.day) for r in message.items],
        )

    for name in ("send", "skip", "uncertain"):
        assert [seen(m) for m in getattr(found, name)] == [
            seen(m) for m in getattr(expected, name)
        ], name
    assert sorted((seen(m), when) for m, when in found.defer) == sorted(
        (seen(m), when) for m, when in expected.defer
    )


def profile_key(c: ChatSettings) -> tuple:
    return (c.timezone, c.hour, c.topics, tuple(c.leads), tuple(c.cities))


def test_catch_up_sends_recent_and_skips_old() -> None:
    now = datetime(2026, 12, 9, 12, tzinfo=UTC)  # 17:00 in Almaty
    subscriber = chat(timezone="Asia/Almaty")
    reminders = due_between([subscriber], [card()], [], now - timedelta(days=30), now)
    assert [r.key for r in reminders] == ["a:zhanaozen-massacre:2026:7"]
    plan = plan_sweep(reminders, lambda key, chat_id: None, now)
    assert plan.send == reminders and not plan.skip
    later = plan_sweep(reminders, lambda key, chat_id: None, now + timedelta(hours=8))
    assert later.skip == reminders and not later.send  # due 05:00 UTC, now 20:00 UTC: 15 h late


def test_catch_up_waits_for_the_morning_inside_quiet_hours() -> None:
    evening = chat(timezone="Asia/Almaty", hour=21)
    reminders = due_between(
        [evening], [card()], [], local(ALMATY, 2026, 12, 9), local(ALMATY, 2026, 12, 9, 23)
    )
    now = local(ALMATY, 2026, 12, 9, 23)
    plan = plan_sweep(reminders, lambda key, chat_id: None, now)
    assert plan.defer == [(reminders[0], local(ALMATY, 2026, 12, 10, 8))]
    too_late = chat(timezone="Asia/Almaty", hour=10)
    late = due_between(
        [too_late], [card()], [], local(ALMATY, 2026, 12, 9), local(ALMATY, 2026, 12, 9, 23)
    )
    # due 10:00, morning would be 22 h late: skipped rather than sent out of context
    assert plan_sweep(late, lambda key, chat_id: None, local(ALMATY, 2026, 12, 9, 21, 59)).send
    assert plan_sweep(late, lambda key, chat_id: None, now).skip == late


def test_pending_rows_become_uncertain_and_settled_rows_are_left_alone() -> None:
    now = datetime(2026, 12, 9, 6, tzinfo=UTC)
    reminders = due_between(
        [
            chat(1, timezone="Asia/Almaty"),
            chat(2, timezone="Asia/Almaty"),
            chat(3, timezone="Asia/Almaty"),
        ],
        [card()],
        [],
        now - timedelta(hours=12),
        now,
    )
    states = {1: "pending", 2: "sent", 3: None}
    plan = plan_sweep(reminders, lambda key, chat_id: states[chat_id], now)
    assert [r.chat_id for r in plan.uncertain] == [1]
    assert [r.chat_id for r in plan.send] == [3]


def test_sweep_window() -> None:
    now = datetime(2026, 12, 9, 12, tzinfo=UTC)
    assert sweep_window(now, None) == (now - timedelta(hours=12), now)
    assert sweep_window(now, now - timedelta(minutes=5)) == (now - timedelta(hours=12), now)
    assert sweep_window(now, now - timedelta(days=2)) == (now - timedelta(days=2), now)
    assert sweep_window(now, now - timedelta(days=90)) == (now - timedelta(days=30), now)


def test_event_reminders_in_the_chosen_city_only() -> None:
    protest = event()
    almaty = chat(1, timezone="Asia/Almaty", cities=["almaty"])
    nowhere = chat(2, timezone="Asia/Almaty")
    everywhere = chat(3, timezone="Europe/London", cities=["*"])
    found = due_between(
        [almaty, nowhere, everywhere],
        [],
        [protest],
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 31, tzinfo=UTC),
    )
    assert {r.chat_id for r in found} == {1, 3}
    keys = [r.key for r in found if r.chat_id == 1]
    assert keys == ["e:almaty-2026-12-16:7", "e:almaty-2026-12-16:1", "e:almaty-2026-12-16:0"]
    same_day = next(r for r in found if r.chat_id == 1 and r.lead == 0)
    assert same_day.due == local(ALMATY, 2026, 12, 16, 10)
    cancelled = protest.model_copy(update={"cancelled": True})
    assert (
        due_between(
            [almaty],
            [],
            [cancelled],
            datetime(2026, 12, 1, tzinfo=UTC),
            datetime(2026, 12, 31, tzinfo=UTC),
        )
        == []
    )


def test_same_day_protest_reminder_comes_before_an_early_protest() -> None:
    almaty = chat(timezone="Asia/Almaty", cities=["almaty"])
    early = event(starts="2026-12-16T09:30:00")
    assert event_due(early, 0, almaty) == local(ALMATY, 2026, 12, 16, 8, 30)
    dawn = event(starts="2026-12-16T07:30:00")
    assert event_due(dawn, 0, almaty) is None
    assert event_due(dawn, 1, almaty) == local(ALMATY, 2026, 12, 15, 10)


def test_next_reminder_under_a_controlled_clock() -> None:
    subscriber = chat(timezone="Asia/Almaty", leads=[1, 0], cities=["almaty"])
    with time_machine.travel(datetime(2026, 12, 9, 5, 30, tzinfo=UTC), tick=False):
        now = datetime.now(UTC)
        protest = event("almaty-2026-12-12", starts="2026-12-12T15:00:00")
        upcoming = next_reminder(subscriber, [card()], [protest], now)
    assert upcoming is not None
    assert (upcoming.key, upcoming.due) == (
        "e:almaty-2026-12-12:1",
        local(ALMATY, 2026, 12, 11, 10),
    )


def test_canonical_zone_and_city_key() -> None:
    assert canonical_zone("europe/berlin") == "Europe/Berlin"
    assert canonical_zone(" Asia/Almaty ") == "Asia/Almaty"
    assert canonical_zone("America/New York") == "America/New_York"
    assert canonical_zone("Mars/Olympus") is None
    assert canonical_zone("../../etc/passwd") is None
    assert city_key("New York") == "new-york"
    assert city_key("  Almaty ") == "almaty"


@pytest.mark.parametrize("language", ["en", "ru"])
def test_anniversary_text(language: str) -> None:
    tr = translator(language)
    subscriber = chat(timezone="Asia/Almaty", language=language, leads=[7])
    (reminder,) = due_between(
        [subscriber],
        [card()],
        [],
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 31, tzinfo=UTC),
    )
    text = anniversary_text(tr, card(), reminder, [event()])
    assert "15" in text
    assert (
        "Police fired on strikers." if language == "en" else "Полиция стреляла в бастующих."
    ) in text
    assert "Old Square" in text or "Старая площадь" in text
    assert first_sentence("One. Two.") == "One."


def test_a_candle_only_for_days_of_mourning() -> None:
    """A verdict or an acquittal is reminded under a calendar, not a funeral candle."""
    tr = translator("ru")
    subscriber = chat(language="ru", leads=[0])
    for mourning, mark in ((True, "🕯"), (False, "📅")):
        verdict = card("trial-of-37-verdicts", "2012-06-04", mourning=mourning)
        (reminder,) = due_between(
            [subscriber],
            [verdict],
            [],
            datetime(2026, 6, 1, tzinfo=UTC),
            datetime(2026, 6, 10, tzinfo=UTC),
        )
        assert anniversary_text(tr, verdict, reminder, []).startswith(f"{mark} <b>")


def test_a_days_items_make_one_message_within_telegrams_limits() -> None:
    from telegram import InlineKeyboardButton

    from bot.content.cards import MESSAGE_LIMIT
    from bot.reminders.texts import MAX_DIGEST_ITEMS, digest_message
    from emulator.telegram_html import parse_html

    tr = translator("en")
    sections = [
        (
            f"🕯 <b>Card {n}</b>\n" + "word " * 150,
            [InlineKeyboardButton(f"🕯 Card {n}", callback_data=f"card:{n}")],
        )
        for n in range(12)
    ]
    text, markup = digest_message(tr, sections, [])
    assert len(parse_html(text).text) <= MESSAGE_LIMIT
    shown = len(markup.inline_keyboard)
    assert 1 < shown <= MAX_DIGEST_ITEMS and f"And {12 - shown} more" in text


def test_one_message_per_chat_and_local_day() -> None:
    from bot.reminders.schedule import digests

    almaty = chat(timezone="Asia/Almaty", leads=[7, 1, 0], cities=["*"])
    cards = [card(), card("verdicts", "2011-12-09", ("trials",))]
    early = event(starts="2026-12-16T09:00:00")  # same-day reminder at 08:00, before 10:00
    found = due_between(
        [almaty],
        cards,
        [early, event("late", starts="2026-12-16T18:00:00")],
        local(ALMATY, 2026, 12, 1),
        local(ALMATY, 2026, 12, 31),
    )
    messages = digests(found)
    assert [(m.key, len(m.items)) for m in messages] == [
        ("d:2026-12-02", 1),
        ("d:2026-12-08", 1),
        ("d:2026-12-09", 4),
        ("d:2026-12-15", 3),
        ("e:almaty-2026-12-16:0", 1),
        ("d:2026-12-16", 2),
    ]
    assert [r.subject_id for r in messages[2].items] == [
        "verdicts",
        "zhanaozen-massacre",
        "almaty-2026-12-16",
        "late",
    ]
