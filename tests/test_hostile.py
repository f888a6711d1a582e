"""Hostile input and careless clicks (issue 13): each test here failed before its fix."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
import time_machine
from chat import press, say
from conftest import ADMIN_ID, BOT_USERNAME, running_bot
from icalendar import Calendar
from pydantic import ValidationError
from test_reminders import event

from bot.content.schema import ProtestEvent
from bot.handlers import conversations
from bot.i18n import translator
from bot.protests import shares, wording
from bot.reminders import service
from bot.store.models import ChatSettings
from emulator.telegram_html import parse_html

USER = 42
GROUP, GROUP_ADMIN, GROUP_MEMBER = -1700, 5, 6
NOW = datetime(2026, 11, 30, 6, tzinfo=UTC)
HOSTILE_LINK = 'https://example.org/vigil?ref="leaflet"&lang=<ru>'


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


async def say_in_group(emulator, text: str, user_id: int = GROUP_ADMIN):
    emulator.user_message(GROUP, text, user_id=user_id, chat_type="supergroup")
    return await emulator.next_message(GROUP)


async def press_in_group(emulator, message, label: str, user_id: int = GROUP_ADMIN):
    emulator.press(
        GROUP, message.message_id, message.button(label)["callback_data"], user_id=user_id
    )
    return await emulator.next_message(GROUP)


def links(message) -> list[str]:
    return [e["url"] for e in message.entities if e["type"] == "text_link"]


# 1. HTML attribute injection ---------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_quote_in_a_link_stays_inside_the_href(language):
    """Even a link that skipped validation (an old store) cannot break the message."""
    tr = translator(language)
    protest = event().model_copy(update={"link": HOSTILE_LINK})
    texts = [
        wording.describe(tr, protest),
        wording.reminder_text(tr, protest, 7, "UTC"),
        wording.list_text(tr, [protest], None),
        shares._event_item(protest, tr, "zhanaozen_test_bot").text,
    ]
    for text in texts:
        parsed = parse_html(text)  # raises on what Telegram would reject
        urls = [e["url"] for e in parsed.entities if e["type"] == "text_link"]
        assert HOSTILE_LINK in urls


def test_links_in_event_files_must_be_web_links():
    document = event().model_dump(mode="json")
    for bad in (
        "javascript:alert(1)",
        "not a link",
        "ftp://example.org/x",
        "https://example.org/" + "x" * 400,
    ):
        with pytest.raises(ValidationError):
            ProtestEvent.model_validate({**document, "link": bad})
    cleaned = ProtestEvent.model_validate({**document, "link": HOSTILE_LINK}).link
    assert cleaned is not None and '"' not in cleaned and "<" not in cleaned
    assert "leaflet" in cleaned and "&lang=" in cleaned


async def add_protest(emulator, link: str):
    """/event_add through the bot, as an organiser would type it."""
    await say(emulator, ADMIN_ID, "/event_add")
    await emulator.next_message(ADMIN_ID)
    for answer in (
        "Almaty / Алматы",
        "Old Square / Старая площадь",
        "Abylai Khan Ave",
        "16.12.2026 12:00",
        "Asia/Almaty",
        "Solidarity & <friends> / Солидарность",
    ):
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

    await store.put_chat(
        ChatSettings(
            USER, language="ru", timezone="Asia/Almaty", cities=["almaty"], subscribed=True
        )
    )
    listed = await say(emulator, USER, "/protests", "ru")
    assert link in links(listed)
    document = await press(emulator, USER, listed, "📅")
    (entry,) = Calendar.from_ical(document.document.data).walk("VEVENT")
    assert str(entry["url"]) == link

    for query in ("", "Almaty"):
        answer = await emulator.wait_inline_answer(emulator.inline_query(USER, query))
        texts = [r["input_message_content"]["message_text"] for r in answer.results]
        assert any("Старая площадь" in text for text in texts), query

    await service.service(app).sweep(datetime(2026, 12, 9, 5, 0, 1, tzinfo=UTC))
    reminder = await emulator.wait_for(
        lambda: [
            m
            for m in emulator.sent(USER)
            if "Старая площадь" in m.text and m.method == "sendMessage" and m is not listed
        ],
        timeout=10,
    )
    assert link in links(reminder[-1])


# 4. Multi-step flows end -------------------------------------------------------------------


async def open_correction(emulator, chat_id: int = USER):
    card = await say(emulator, chat_id, "/prisoner Tuletaeva")
    return await press(emulator, chat_id, card, "Report a correction")


async def test_an_abandoned_correction_does_not_catch_a_later_search(app, emulator):
    prompt = await open_correction(emulator)
    assert "What is wrong" in prompt.text
    await say(emulator, USER, "/prisoners")  # the reader moves on
    found = await say(emulator, USER, "Kozlov")
    assert "Vladimir Kozlov" in found.text and "editors" not in found.text
    assert not emulator.sent(ADMIN_ID), "nothing reached the editors"
    # The stale Cancel button is just out of date now.
    update_id = emulator.press(
        USER, prompt.message_id, prompt.button("Cancel")["callback_data"], user_id=USER
    )
    answer = await emulator.wait_for(lambda: emulator.callback_answer(update_id), timeout=10)
    assert "out of date" in answer.text


async def test_a_correction_flow_times_out(emulator, config, monkeypatch):
    monkeypatch.setattr(conversations, "SHORT_TIMEOUT", 0.5)
    async with running_bot(config):
        await open_correction(emulator)
        await asyncio.sleep(1.5)
        found = await say(emulator, USER, "Kozlov")
        assert "Vladimir Kozlov" in found.text
        assert not emulator.sent(ADMIN_ID)


async def test_a_correction_reaches_the_editors_then_cools_down(app, emulator):
    await open_correction(emulator)
    thanks = await say(emulator, USER, "The sentence was 7 years, not 5 <source: RFE/RL>")
    assert "passed to the editors" in thanks.text
    (note,) = emulator.sent(ADMIN_ID)
    assert "roza-tuletaeva" in note.text and "<source: RFE/RL>" in note.text
    # Straight away again: refused politely, nothing more reaches the editors (L4).
    card = await say(emulator, USER, "/prisoner Tuletaeva")
    update_id = emulator.press(
        USER, card.message_id, card.button("Report a correction")["callback_data"], user_id=USER
    )
    answer = await emulator.wait_for(lambda: emulator.callback_answer(update_id), timeout=10)
    assert "wait a few minutes" in answer.text
    found = await say(emulator, USER, "Kozlov")
    assert "Vladimir Kozlov" in found.text
    assert len(emulator.sent(ADMIN_ID)) == 1


async def test_group_time_zone_other_forces_a_reply_under_privacy_mode(app, emulator):
    store = app.bot_data.store
    emulator.set_admin(GROUP, GROUP_ADMIN)
    panel = await say_in_group(emulator, f"/settings@{BOT_USERNAME}")
    zones = await press_in_group(emulator, panel, "Time zone")
    prompt = await press_in_group(emulator, zones, "Other")
    assert prompt.reply_markup["force_reply"] and prompt.reply_markup["selective"]
    assert f"tg://user?id={GROUP_ADMIN}" in str(prompt.entities), "names who must answer"
    # Another member's reply is not taken as the zone.
    emulator.user_message(
        GROUP,
        "Europe/Paris",
        user_id=GROUP_MEMBER,
        chat_type="supergroup",
        reply_to=prompt.message_id,
    )
    # Under privacy mode only a reply to the prompt reaches the bot, and it is taken.
    emulator.user_message(
        GROUP,
        "Asia/Tashkent",
        user_id=GROUP_ADMIN,
        chat_type="supergroup",
        reply_to=prompt.message_id,
    )
    saved = await emulator.next_message(GROUP)
    assert "Asia/Tashkent" in saved.text
    assert store.chat(GROUP).timezone == "Asia/Tashkent"


async def test_an_edited_command_does_not_restart_a_flow(app, emulator):
    update_id = emulator.user_message(ADMIN_ID, "/broadcast", user_id=ADMIN_ID)
    await emulator.next_message(ADMIN_ID)
    message_id = emulator.update_log[update_id]["message"]["message_id"]
    await say(emulator, ADMIN_ID, "First message, in English")
    emulator.edited_message(ADMIN_ID, message_id, "/broadcast", user_id=ADMIN_ID)
    preview = await say(emulator, ADMIN_ID, "Второе сообщение")
    assert "First message" in preview.text, "the flow went on; the edit restarted nothing"
    assert app.bot_data.store.meta("fanouts", {}) == {}


async def test_a_command_leaves_an_organisers_flow(app, emulator):
    await say(emulator, ADMIN_ID, "/event_add")
    await emulator.next_message(ADMIN_ID)
    await say(emulator, ADMIN_ID, "/help")
    found = await say(emulator, ADMIN_ID, "Tuletaeva")
    assert "Roza Tuletaeva" in found.text
    assert app.chat_data[ADMIN_ID].drafts == {}


# 5. Two presses at once --------------------------------------------------------------------


async def test_two_buttons_pressed_at_once_both_count(app, emulator, clock):
    """Subscribing awaits a durable write (what fell due in the last 12 hours is skipped);
    a press in that window used to be overwritten by the subscription's stale copy."""
    clock.move_to(datetime(2026, 12, 9, 10, 30, tzinfo=UTC))  # a 7-day reminder fell due
    store = app.bot_data.store
    panel = await say(emulator, USER, "/settings")
    assert not store.chat(USER) or not store.chat(USER).subscribed
    for label in ("Subscribe", "7 days", "Only 16 December"):
        emulator.press(USER, panel.message_id, panel.button(label)["callback_data"], user_id=USER)
    await emulator.wait_for(
        lambda: len([a for a in emulator.callback_answers if a.text]) >= 3,
        timeout=20,
        what="three answers",
    )
    await emulator.wait_for(lambda: store.chat(USER) is not None, timeout=10)
    settings = store.chat(USER)
    assert settings.subscribed
    assert 7 not in settings.leads
    assert settings.topics == "dec16"


# 9. No apology for what nobody asked -------------------------------------------------------


@pytest.mark.allow_errors("a failing store fails the handler on purpose")
async def test_no_apology_in_a_group_for_an_update_nobody_addressed_to_the_bot(
    app, emulator, monkeypatch, caplog
):
    store = app.bot_data.store

    async def disk_full(*args):
        raise OSError(28, "No space left on device")

    # A group becoming a supergroup is nobody's question: if moving it fails, that is logged,
    # and nothing is posted into the group.
    monkeypatch.setattr(store, "migrate_chat", disk_full)
    basic = -1800
    emulator.set_admin(basic, GROUP_ADMIN)
    emulator.user_message(basic, f"/help@{BOT_USERNAME}", user_id=GROUP_ADMIN, chat_type="group")
    await emulator.next_message(basic)
    new_id = emulator.migrate_group(basic, by_user_id=GROUP_ADMIN)
    await emulator.wait_for(
        lambda: any(r.levelno >= logging.ERROR for r in caplog.records),
        timeout=10,
        what="the failure logged",
    )
    await asyncio.sleep(0.5)
    posted = [
        r
        for r in emulator.requests
        if r.method == "sendMessage" and str(r.params.get("chat_id")) in (str(basic), str(new_id))
    ]
    assert len(posted) == 1, "only the answer to /help, no apology"
    # A command addressed to the bot that fails does get the apology.
    emulator.inject("sendMessage", "400", times=1, chat_id=GROUP)
    answer = await say_in_group(emulator, f"/help@{BOT_USERNAME}")
    assert "Sorry, something went wrong" in answer.text
