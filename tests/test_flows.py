"""Multi-step flows where two people share a chat: each admin of a group who presses "Other…"
has a flow of their own (code review 3, 4.1 bug 1 and Appendix A.2), over real HTTP against
the emulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import time_machine
from chat import press, say
from conftest import ADMIN_ID, BOT_USERNAME, running_bot

from bot import callbacks
from bot.handlers import conversations

GROUP, ADMIN_A, ADMIN_B = -1700, 5, 7


async def open_other_prompt(emulator, admin: int):
    """The admin's own /settings, then Time zone, then Other…: the prompt that asks them."""
    emulator.user_message(
        GROUP, f"/settings@{BOT_USERNAME}", user_id=admin, chat_type="supergroup"
    )
    panel = await emulator.next_message(GROUP)
    emulator.press(
        GROUP, panel.message_id, panel.button("Time zone")["callback_data"], user_id=admin
    )
    zones = await emulator.next_message(GROUP)
    emulator.press(GROUP, zones.message_id, zones.button("Other")["callback_data"], user_id=admin)
    prompt = await emulator.next_message(GROUP)
    assert "Type the time zone name" in prompt.text
    return prompt


async def answer(emulator, admin: int, prompt, text: str):
    emulator.user_message(
        GROUP, text, user_id=admin, chat_type="supergroup", reply_to=prompt.message_id
    )
    return await emulator.next_message(GROUP)


async def test_two_admins_each_typing_another_zone_are_both_answered(app, emulator):
    """Appendix A.2: A and B each open their own panel and press Other…; A answers, then B.
    Before, B's answer was silently dropped and the zone stayed A's."""
    for admin in (ADMIN_A, ADMIN_B):
        emulator.set_admin(GROUP, admin)
    prompt_a = await open_other_prompt(emulator, ADMIN_A)
    prompt_b = await open_other_prompt(emulator, ADMIN_B)
    saved_a = await answer(emulator, ADMIN_A, prompt_a, "Asia/Tashkent")
    assert "Time zone saved: Asia/Tashkent." in saved_a.text
    saved_b = await answer(emulator, ADMIN_B, prompt_b, "Europe/Vienna")
    assert "Time zone saved: Europe/Vienna." in saved_b.text
    assert app.bot_data.store.chat(GROUP).timezone == "Europe/Vienna"


async def test_one_admin_leaving_the_flow_does_not_end_the_others(app, emulator):
    """A command ends the flow of the admin who sends it, not another admin's."""
    for admin in (ADMIN_A, ADMIN_B):
        emulator.set_admin(GROUP, admin)
    await open_other_prompt(emulator, ADMIN_A)
    prompt_b = await open_other_prompt(emulator, ADMIN_B)
    emulator.user_message(
        GROUP, f"/settings@{BOT_USERNAME}", user_id=ADMIN_A, chat_type="supergroup"
    )
    await emulator.next_message(GROUP)  # A's panel: A is out of the flow
    saved_b = await answer(emulator, ADMIN_B, prompt_b, "Europe/Vienna")
    assert "Time zone saved: Europe/Vienna." in saved_b.text
    assert app.bot_data.store.chat(GROUP).timezone == "Europe/Vienna"


# An organiser's flows: one open at a time, each ending for good ------------------------------


async def test_a_flow_started_inside_another_ends_it_for_good(app, emulator):
    """/event_add typed during /broadcast: the broadcast is over, so once /event_add is
    cancelled, free text is a search again, not the broadcast's English text."""
    await say(emulator, ADMIN_ID, "/broadcast")
    await say(emulator, ADMIN_ID, "/event_add")
    prompt = await emulator.next_message(ADMIN_ID)  # step 1
    cancelled = await press(emulator, ADMIN_ID, prompt, "Cancel")
    assert "Cancelled" in cancelled.text
    found = await say(emulator, ADMIN_ID, "Tuletaeva")
    assert "Roza Tuletaeva" in found.text
    assert app.chat_data[ADMIN_ID].drafts == {}
    assert app.bot_data.store.meta("fanouts", {}) == {}


async def test_a_finished_flows_buttons_are_out_of_date(app, emulator):
    """Cancel ends /broadcast; its Skip, pressed after, changes nothing and says so."""
    await say(emulator, ADMIN_ID, "/broadcast")
    russian_step = await say(emulator, ADMIN_ID, "In English")
    skip = russian_step.button("Skip")["callback_data"]
    cancelled = await press(emulator, ADMIN_ID, russian_step, "Cancel")
    assert "Cancelled" in cancelled.text
    update_id = emulator.press(
        ADMIN_ID, russian_step.message_id, skip, user_id=ADMIN_ID, strict=False
    )
    answer = await emulator.wait_callback_answer(update_id)
    assert "out of date" in answer.text
    found = await say(emulator, ADMIN_ID, "Tuletaeva")
    assert "Roza Tuletaeva" in found.text, "no preview was sent in between"
    assert app.bot_data.store.meta("fanouts", {}) == {}


async def test_an_organisers_flow_times_out_and_forgets_its_draft(emulator, config, monkeypatch):
    monkeypatch.setattr(conversations, "LONG_TIMEOUT", 0.5)
    async with running_bot(config) as app:
        await say(emulator, ADMIN_ID, "/broadcast")
        assert app.chat_data[ADMIN_ID].drafts, "the draft is kept while the flow is open"
        await asyncio.sleep(1.5)
        assert app.chat_data[ADMIN_ID].drafts == {}
        found = await say(emulator, ADMIN_ID, "Tuletaeva")
        assert "Roza Tuletaeva" in found.text


# A channel's panel, pressed by two of its admins at once -----------------------------------

CHANNEL, CHANNEL_ADMINS = -1001234567890, (42, 44)


async def test_two_channel_admins_pressing_at_once_both_change_it(emulator, config):
    """Review 3, 4.1 bug 4: one admin subscribes the channel (a reminder fell due half an hour
    ago, so a durable write is awaited before the settings are saved) while another picks
    "Only 16 December": each press is taken in the channel's turn, so neither saves a copy the
    other has changed."""
    with time_machine.travel(datetime(2026, 12, 9, 10, 30, tzinfo=UTC), tick=True):
        async with running_bot(config) as app:
            await press_both_at_once(emulator)
            stored = app.bot_data.store.chat(CHANNEL)
    assert stored.subscribed and stored.topics == "dec16"


async def press_both_at_once(emulator) -> None:
    emulator.add_channel(CHANNEL, "campaign_kz", title="Zhanaozen solidarity")
    emulator.set_admin(CHANNEL, emulator.bot_id, can_post_messages=True)
    panels = {}
    for admin in CHANNEL_ADMINS:
        emulator.set_admin(CHANNEL, admin, "administrator")
        panels[admin] = await say(emulator, admin, "/channel @campaign_kz")
    presses = [
        emulator.press(
            admin,
            panels[admin].message_id,
            callbacks.build(callbacks.CHANNEL, *change),
            user_id=admin,
        )
        for admin, change in zip(
            CHANNEL_ADMINS, (("sub", CHANNEL), ("topic", CHANNEL, "dec16")), strict=True
        )
    ]
    for update_id in presses:
        await emulator.wait_callback_answer(update_id)
