"""Hostile input and careless clicks (issue 13): each test here failed before its fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from chat import press, say
from conftest import ADMIN_ID
from icalendar import Calendar
from pydantic import ValidationError
from test_reminders import event

from bot import events, scheduling, sharing
from bot.content import ProtestEvent
from bot.emulator.telegram_html import parse_html
from bot.i18n import translator
from bot.store import ChatSettings

USER = 42
NOW = datetime(2026, 11, 30, 6, tzinfo=UTC)
HOSTILE_LINK = 'https://example.org/vigil?ref="leaflet"&lang=<ru>'


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def links(message) -> list[str]:
    return [e["url"] for e in message.entities if e["type"] == "text_link"]


# 1. HTML attribute injection ---------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_quote_in_a_link_stays_inside_the_href(language):
    """Even a link that skipped validation (an old store) cannot break the message."""
    tr = translator(language)
    protest = event().model_copy(update={"link": HOSTILE_LINK})
    texts = [events.describe(tr, protest), events.reminder_text(tr, protest, 7, "UTC"),
             events.list_text(tr, [protest], None),
             sharing._event_item(protest, tr, "zhanaozen_test_bot").text]
    for text in texts:
        parsed = parse_html(text)  # raises on what Telegram would reject
        urls = [e["url"] for e in parsed.entities if e["type"] == "text_link"]
        assert HOSTILE_LINK in urls


def test_links_in_event_files_must_be_web_links():
    document = event().model_dump(mode="json")
    for bad in ("javascript:alert(1)", "not a link", "ftp://example.org/x",
                "https://example.org/" + "x" * 400):
        with pytest.raises(ValidationError):
            ProtestEvent.model_validate({**document, "link": bad})
    cleaned = ProtestEvent.model_validate({**document, "link": HOSTILE_LINK}).link
    assert cleaned is not None and '"' not in cleaned and "<" not in cleaned
    assert "leaflet" in cleaned and "&lang=" in cleaned


async def add_protest(emulator, link: str):
    """/event_add through the bot, as an organiser would type it."""
    await say(emulator, ADMIN_ID, "/event_add")
    await emulator.next_message(ADMIN_ID)
    for answer in ("Almaty / Алматы", "Old Square / Старая площадь", "Abylai Khan Ave",
                   "16.12.2026 12:00", "Asia/Almaty",
                   "Solidarity & <friends> / Солидарность"):
        await say(emulator, ADMIN_ID, answer)
    prompt = await say(emulator, ADMIN_ID, link)
    preview = await press(emulator, ADMIN_ID, prompt, "Skip")
    return await press(emulator, ADMIN_ID, preview, "Publish")


async def test_a_hostile_link_renders_everywhere_the_protest_appears(app, emulator):
    """A link with '"', '<' and '&': /protests, inline queries, reminders, calendar files.

    The emulator fixture fails the test on any request Telegram would reject."""
    store = app.bot_data.store
    done = await add_protest(emulator, HOSTILE_LINK)
    assert "almaty-2026-12-16" in done.text
    (stored,) = store.events()
    link = stored["link"]
    assert "leaflet" in link and '"' not in link and "<" not in link and "&" in link

    await store.put_chat(ChatSettings(USER, language="ru", timezone="Asia/Almaty",
                                      cities=["almaty"], subscribed=True))
    listed = await say(emulator, USER, "/protests", "ru")
    assert link in links(listed)
    document = await press(emulator, USER, listed, "📅")
    (entry,) = Calendar.from_ical(document.document.data).walk("VEVENT")
    assert str(entry["url"]) == link

    for query in ("", "Almaty"):
        answer = await emulator.wait_inline_answer(emulator.inline_query(USER, query))
        texts = [r["input_message_content"]["message_text"] for r in answer.results]
        assert any("Старая площадь" in text for text in texts), query

    await scheduling.service(app).sweep(datetime(2026, 12, 9, 5, 0, 1, tzinfo=UTC))
    reminder = await emulator.wait_for(
        lambda: [m for m in emulator.sent(USER) if "Старая площадь" in m.text
                 and m.method == "sendMessage" and m is not listed], timeout=10)
    assert link in links(reminder[-1])
