"""Reminders end to end: the real Application, its real JobQueue and the local Bot API.

The clock is moved with time-machine (``tick=True``: it keeps running from the new instant),
so a reminder due on 9 December fires a couple of real seconds after the bot starts; the
event loop's monotonic clock is untouched, so nothing waits for days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import chat
import pytest
import time_machine
from conftest import ADMIN_ID, make_config, running_bot

from bot.i18n import translator
from bot.reminders import service
from bot.reminders.schedule import due_between, message_key
from bot.store.models import ChatSettings
from bot.store.repository import Store
from bot.telegram import budget
from emulator import Emulator

USER = 42
KEY7 = "d:2026-12-09"
"""The delivery-log key of a chat's message on 9 December (7 days before 16 December)."""
CARD_RU = "Расстрел в Жанаозене"


@pytest.fixture(autouse=True)
def clock():
    """A fixed calendar for every test here, whatever day the suite runs on."""
    with time_machine.travel(datetime(2026, 11, 30, 6, tzinfo=UTC), tick=True) as traveller:
        yield traveller


def subscriber(chat_id: int, **changes) -> ChatSettings:
    values = dict(language="en", subscribed=True, topics="dec16", leads=[7])
    values.update(changes)
    return ChatSettings(chat_id=chat_id, **values)


async def swept_since(app, emulator: Emulator, moment: datetime) -> None:
    """Wait until a sweep that started at or after ``moment`` has finished."""
    store = app.bot_data.store

    def done() -> bool:
        last = store.meta(service.LAST_SWEPT)
        return bool(last) and datetime.fromisoformat(last) >= moment

    await emulator.wait_for(done, timeout=10, what="a finished sweep")


# A Russian-speaking person by default: the shared chat helpers with Russian as the language.
async def say(emulator: Emulator, chat_id: int, text: str, language: str = "ru"):
    return await chat.say(emulator, chat_id, text, language)


async def press(emulator: Emulator, chat_id: int, message, label: str, language: str = "ru"):
    return await chat.press(emulator, chat_id, message, label, language)


async def add_almaty_protest(emulator: Emulator) -> None:
    """/event_add as an organiser would type it, answering each step."""
    admin = ADMIN_ID
    await say(emulator, admin, "/event_add", "en")
    prompt = await emulator.next_message(admin)
    for answer in (
        "Almaty / Алматы",
        "Republic Square / Площадь Республики",
        "Satpayev Street",
        "2026-12-16 12:00",
    ):
        prompt = await say(emulator, admin, answer, "en")
    prompt = await press(emulator, admin, prompt, "Almaty", "en")  # the venue's time zone
    prompt = await say(emulator, admin, "Solidarity Committee / Комитет солидарности", "en")
    prompt = await press(emulator, admin, prompt, "Skip", "en")  # no link
    preview = await say(emulator, admin, "Bring flowers / Приносите цветы", "en")
    assert "Republic Square" in preview.text and "Площадь Республики" in preview.text
    published = await press(emulator, admin, preview, "Publish", "en")
    assert "almaty-2026-12-16" in published.text


def ours(emulator: Emulator) -> list[str]:
    """The reminders the test is about: messages about 16 December (🕯) or the Almaty
    protest (📣)."""
    return [
        m.text
        for m in emulator.sent(USER)
        if not m.edited
        and (
            (m.text.startswith("🕯") and CARD_RU in m.text.split("\n")[0])
            or "Площадь Республики" in m.text
        )
    ]


async def test_done_means_almaty_subscriber_in_russian(emulator, data_dir, clock):
    """Subscribed in Russian with Asia/Almaty: the 7-day, 1-day and same-day reminders for
    16 December 2026 arrive at 10:00 Almaty time, each exactly once across restarts, in one
    message a day with the reminders of a protest added with /event_add in Almaty."""
    config = make_config(emulator, data_dir)
    async with running_bot(config):
        panel = await say(emulator, USER, "/subscribe")
        assert "✅" in panel.text
        zones = await press(emulator, USER, panel, "🕒")
        panel = await press(emulator, USER, zones, "Алматы")
        panel = await press(emulator, USER, panel, "16")  # only the 16 December anniversaries
        # The confirmation names the next reminder in Russian and in Almaty time.
        assert "декабря 2026" in panel.text and "10:00 (Алматы)" in panel.text
        await add_almaty_protest(emulator)

    days = [
        (datetime(2026, 12, 9, 4, 59, 59, tzinfo=UTC), "7"),
        (datetime(2026, 12, 15, 4, 59, 59, tzinfo=UTC), "1"),
        (datetime(2026, 12, 16, 4, 59, 59, tzinfo=UTC), "0"),
    ]
    for number, (moment, lead) in enumerate(days, start=1):
        clock.move_to(moment)
        async with running_bot(config) as app:
            store = app.bot_data.store
            # The real JobQueue fires the sweep at 05:00:00 UTC = 10:00 in Almaty.
            await emulator.wait_for(
                lambda n=number: len(ours(emulator)) >= n, timeout=15, what="the day's reminder"
            )
            await swept_since(app, emulator, moment + timedelta(seconds=1))
            assert store.deliveries.state(f"d:2026-12-{moment.day:02d}", USER) == "sent"
            assert "Площадь Республики" in ours(emulator)[-1], lead
        # Restart within the hour: the catch-up sweep must not send anything again.
        later = moment + timedelta(minutes=20)
        clock.move_to(later)
        async with running_bot(config) as app:
            await swept_since(app, emulator, later)
        assert len(ours(emulator)) == number

    tr = translator("ru")
    day = tr.date(datetime(2026, 12, 16).date())
    assert day.startswith("16 декабря 2026")
    anniversaries = [text for text in ours(emulator) if text.startswith("🕯")]
    assert len(anniversaries) == 3
    expected = [
        tr.ngettext("In %(num)d day, on %(date)s.", "In %(num)d days, on %(date)s.", 7)
        % {"num": 7, "date": day},
        tr.gettext("Tomorrow, %(date)s.") % {"date": day},
        tr.gettext("Today, %(date)s.") % {"date": day},
    ]
    for text, when in zip(anniversaries, expected, strict=True):
        assert when in text
    since = tr.ngettext("It is %(num)d year since.", "It is %(num)d years since.", 15)
    assert since % {"num": 15} in anniversaries[2]
    protests = [text.split("📣", 1)[1] for text in ours(emulator)]
    assert len(protests) == 3 and all("Алматы" in text for text in protests)


async def test_done_means_one_message_a_day_with_the_defaults(emulator, data_dir, clock):
    """An Asia/Almaty subscriber with the defaults (all anniversaries; 7 days, 1 day, on the
    day; 10:00) gets exactly one message on each of 9, 15 and 16 December 2026, at 10:00
    Almaty time, each about the massacre, across restarts. The content also holds
    Independence Day (16 December) and the massacre's tenth anniversary (15 December):
    dated facts, never reminders of their own."""
    config = make_config(emulator, data_dir)
    async with running_bot(config):
        panel = await say(emulator, USER, "/subscribe", "en")
        zones = await press(emulator, USER, panel, "🕒", "en")
        panel = await press(emulator, USER, zones, "Almaty", "en")
        assert "10:00 (Almaty)" in panel.text
    settings_messages = len(emulator.sent(USER))

    def reminders() -> list[str]:
        return [m.text for m in emulator.sent(USER)[settings_messages:] if not m.edited]

    for number, day in enumerate((9, 15, 16), start=1):
        moment = datetime(2026, 12, day, 4, 59, 58, tzinfo=UTC)  # 09:59:58 in Almaty
        clock.move_to(moment)
        async with running_bot(config) as app:
            await emulator.wait_for(
                lambda n=number: len(reminders()) >= n, timeout=15, what="the day's reminder"
            )
            arrived = datetime.now(UTC)
            assert (
                datetime(2026, 12, day, 5, tzinfo=UTC)
                <= arrived
                < datetime(2026, 12, day, 5, 1, tzinfo=UTC)
            ), "sent at 10:00 Almaty time"
            await swept_since(app, emulator, moment + timedelta(seconds=2))
            assert app.bot_data.store.deliveries.state(f"d:2026-12-{day:02d}", USER) == "sent"
        later = moment + timedelta(hours=2)  # a restart later that day: catch-up, no repeat
        clock.move_to(later)
        async with running_bot(config) as app:
            await swept_since(app, emulator, later)
        texts = reminders()
        assert len(texts) == number, texts[number - 1 :]
        first_line = texts[-1].split("\n")[0]
        assert "The Zhanaozen massacre" in first_line
        assert "Independence" not in texts[-1] and "Tenth anniversary" not in texts[-1]
    assert "It is 15 years since." in texts[2] and "Today, December 16, 2026." in texts[2]


def owed(app, chat_ids, now: datetime) -> dict[int, set[str]]:
    """Keys of the messages due in the 12 hours before ``now``, per chat (one a day)."""
    reminder_service = service.service(app)
    chats = [app.bot_data.store.chat(chat_id) for chat_id in chat_ids]
    due = due_between(
        chats,
        reminder_service.library.anniversaries(),
        reminder_service.events(),
        now - timedelta(hours=12),
        now,
    )
    keys: dict[int, set[str]] = {chat_id: set() for chat_id in chat_ids}
    for reminder in due:
        keys[reminder.chat_id].add(message_key(reminder))
    return keys


def texts_to(emulator: Emulator, chat_id: int) -> list[str]:
    return [m.text for m in emulator.sent(chat_id) if not m.edited]


async def test_restart_mid_fan_out_sends_nobody_twice(emulator, data_dir, clock):
    config = make_config(emulator, data_dir, broadcast_rate=10.0)
    chats = list(range(5001, 5021))
    due_at = datetime(2026, 12, 9, 10, tzinfo=UTC)
    clock.move_to(due_at - timedelta(seconds=2))
    async with running_bot(config) as app:
        for chat_id in chats:
            await app.bot_data.store.put_chat(subscriber(chat_id))
        keys = owed(app, chats, due_at)
        total = sum(len(k) for k in keys.values())
        assert all(KEY7 in k for k in keys.values())
        service.settings_changed(app)
        await emulator.wait_for(
            lambda: sum(emulator.delivered[c] for c in chats) >= 10,
            timeout=15,
            what="the fan-out to be under way",
        )
    first_run = sum(emulator.delivered[c] for c in chats)
    assert 10 <= first_run < total, "the bot stopped in the middle of the fan-out"

    # A clean stop logs every message it sent. A crash can leave "pending" rows: one whose
    # message went out, one whose did not. Neither may be sent again: at most once.
    store = Store.open(data_dir)
    for chat_id in chats:
        sent_rows = [
            key for key in keys[chat_id] if store.deliveries.state(key, chat_id) == "sent"
        ]
        assert len(sent_rows) == emulator.delivered[chat_id]
    went_out = min(c for c in chats if store.deliveries.state(KEY7, c) == "sent")
    never_went = min(c for c in chats if store.deliveries.state(KEY7, c) is None)
    await store.deliveries.set([(KEY7, went_out, "pending"), (KEY7, never_went, "pending")])
    await store.aclose()

    restart = due_at + timedelta(minutes=5)
    clock.move_to(restart)
    async with running_bot(config) as app:
        await swept_since(app, emulator, restart)
        store = app.bot_data.store
        assert store.deliveries.state(KEY7, went_out) == "uncertain"
        assert store.deliveries.state(KEY7, never_went) == "uncertain"
        for chat_id in chats:
            texts = texts_to(emulator, chat_id)
            assert len(texts) == len(set(texts)), f"chat {chat_id} got a message twice"
            expected = len(keys[chat_id]) - (chat_id == never_went)
            assert len(texts) == expected
            assert all(
                store.deliveries.state(key, chat_id) in ("sent", "uncertain")
                for key in keys[chat_id]
            )
    assert not any("Zhanaozen massacre" in text for text in texts_to(emulator, never_went))


async def test_downtime_catch_up_skip_and_quiet_hours(emulator, data_dir, clock, caplog):
    store = Store.open(data_dir)
    await store.put_chat(subscriber(601, timezone="Asia/Almaty"))  # due 05:00 UTC: 9 h late
    await store.put_chat(subscriber(603, timezone="Pacific/Auckland"))  # due 21:00 UTC: 17 h
    await store.put_chat(subscriber(604, timezone="Asia/Tokyo", hour=21))  # due 12:00 UTC
    await store.set_meta(service.LAST_SWEPT, "2026-12-08T00:00:00+00:00")
    await store.aclose()

    back = datetime(2026, 12, 9, 14, tzinfo=UTC)  # down since 8 December
    clock.move_to(back)
    async with running_bot(make_config(emulator, data_dir)) as app:
        await swept_since(app, emulator, back)
        store = app.bot_data.store
        assert store.deliveries.state(KEY7, 601) == "sent"
        assert emulator.delivered[601] == len(owed(app, [601], back)[601])
        assert store.deliveries.state(KEY7, 603) == "skipped" and emulator.delivered[603] == 0
        assert "more than 12 hours late" in caplog.text
        # 23:00 in Tokyo: quiet hours. It waits for 08:00 there (23:00 UTC, 11 h late).
        assert emulator.delivered[604] == 0 and store.deliveries.state(KEY7, 604) is None
        morning = datetime(2026, 12, 9, 23, tzinfo=UTC)
        assert app.job_queue.get_jobs_by_name(service.SWEEP_JOB + morning.isoformat())
        result = await service.service(app).sweep(morning + timedelta(seconds=1))
        assert result.sent >= 1 and store.deliveries.state(KEY7, 604) == "sent"


async def test_delivery_errors_never_stop_the_fan_out(app, emulator, monkeypatch, caplog):
    monkeypatch.setattr(budget, "RETRY_DELAYS", {"reply": (0.05,), "fanout": (0.05, 0.05)})
    store = app.bot_data.store
    emulator.block(701)
    emulator.inject("sendMessage", "migrate", chat_id=-702, migrate_to=-1000702, probability=1.0)
    emulator.inject("sendMessage", "429", chat_id=703, retry_after=1)
    emulator.inject("sendMessage", "500", chat_id=704, times=2)
    emulator.inject("sendMessage", "500", chat_id=705, times=100)
    for chat_id in (701, 703, 704, 705):
        await store.put_chat(subscriber(chat_id))
    await store.put_chat(subscriber(-702, chat_type="group"))
    now = datetime(2026, 12, 9, 10, 0, 5, tzinfo=UTC)
    per_chat = len(owed(app, [703], now)[703])

    result = await service.service(app).sweep(now)

    assert result.sent == 3 * per_chat and result.failed == 2 * per_chat
    # Blocked: unsubscribed, nothing sent.
    assert not store.chat(701).subscribed and store.deliveries.state(KEY7, 701) == "failed"
    assert result.blocked >= 1 and emulator.delivered[701] == 0
    # Migrated: the subscription moved to the supergroup, which got each reminder once.
    assert store.chat(-702) is None
    moved = store.chat(-1000702)
    assert moved is not None and moved.subscribed and moved.chat_type == "supergroup"
    assert store.deliveries.state(KEY7, -1000702) == "sent"
    assert emulator.delivered[-1000702] == per_chat and result.migrated == per_chat
    # Flood control waited out; a passing server error retried; a lasting one logged.
    assert emulator.delivered[703] == per_chat and emulator.delivered[704] == per_chat
    assert store.deliveries.state(KEY7, 705) == "failed" and "giving up" in caplog.text
    again = await service.service(app).sweep(now + timedelta(minutes=30))
    assert again.sent == 0


async def test_jobs_are_rebuilt_with_a_deliberate_misfire_grace_time(app):
    jobs = {job.name: job for job in app.job_queue.jobs()}
    plan = jobs[service.PLAN_JOB]
    assert plan.job.misfire_grace_time == service.PLAN_INTERVAL.total_seconds()
    await app.bot_data.store.put_chat(subscriber(801))
    instants = await service.service(app).plan(datetime(2026, 12, 9, 9, 45, tzinfo=UTC))
    assert instants == [datetime(2026, 12, 9, 10, tzinfo=UTC)]
    (sweep,) = app.job_queue.get_jobs_by_name(service.SWEEP_JOB + instants[0].isoformat())
    assert sweep.job.misfire_grace_time == 12 * 3600 and sweep.job.coalesce


async def test_paid_broadcast_is_asked_for_only_when_configured(emulator, data_dir):
    async with running_bot(make_config(emulator, data_dir, paid_broadcast=True)) as app:
        await app.bot_data.store.put_chat(subscriber(901))
        await service.service(app).sweep(datetime(2026, 12, 9, 10, 0, 5, tzinfo=UTC))
    sends = [r for r in emulator.requests if r.method == "sendMessage" and r.chat_id == 901]
    assert sends and all(r.params.get("allow_paid_broadcast") in (True, "true") for r in sends)
