"""Organisers' input, generated: every /event_add step and both /broadcast texts take hostile
text (quotes, '<', '&', right-to-left marks, 4,000-character lines). Whatever is typed, the bot
sends nothing Telegram would reject (the emulator fixture), logs no error (conftest), and every
place a published protest appears still renders."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from chat import press, say
from conftest import ADMIN_ID
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.handlers.admission import FairUpdates
from bot.handlers.organisers import STEPS
from bot.store.models import ChatSettings
from bot.telegram.fairness import Admission, Rate

SUBSCRIBER = 77
EXAMPLES = 12
VALID = {
    "city": "Almaty / Алматы",
    "venue": "Old Square / Старая площадь",
    "address": "Abylai Khan Ave",
    "starts": "16.12.2026 12:00",
    "timezone": "Asia/Almaty",
    "organiser": "Solidarity / Солидарность",
    "link": "https://example.org/vigil",
    "note": "Bring candles / Возьмите свечи",
}
ODD = [
    '"',
    "'",
    "<",
    ">",
    "&",
    "&amp;",
    "&#0;",
    "<b>",
    "</a>",
    "<a href=",
    "\u200f",
    "\u202e",
    "\u200b",
    "\u2066",
    " / ",
    "/",
    "\n",
    "ж",
    "😀",
    "https://",
    '?x="1"&y=<2>',
    "a",
    "1",
]
HOSTILE = st.one_of(
    st.lists(st.sampled_from(ODD), min_size=1, max_size=12).map("".join),
    st.builds(
        lambda unit, count: (unit * count)[:4000], st.sampled_from(ODD), st.integers(100, 4000)
    ),
    st.sampled_from(
        [
            'https://example.org/?ref="leaflet"&lang=<ru>',
            "Almaty\u200f / \u202eАлматы",
            "<b>Vigil</b> / <i>Акция</i>",
            "https://example.org/" + "x" * 3980,
        ]
    ),
).filter(lambda text: text.strip() and not text.lstrip().startswith("/"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 11, 30, 6, tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def organiser_at_machine_speed(app):
    """Each example types a whole form in milliseconds, a dozen examples in a row: fair shares
    (tests/test_fairness.py) would rightly slow such a sender down, and this test is about
    what the bot does with every one of its updates."""
    processor = app.update_processor
    assert isinstance(processor, FairUpdates)
    unlimited = Rate(burst=10**9, per_second=10**9)
    processor.admission = Admission(user=unlimited, group=unlimited, inline=unlimited)


async def message_with(emulator, fragment: str):
    """The bot's next message to the organiser whose text or a button holds ``fragment``."""
    while True:
        message = await emulator.next_message(ADMIN_ID, timeout=20)
        labels = [button.get("text", "") for button in message.buttons]
        if any(fragment.lower() in text.lower() for text in (message.text, *labels)):
            return message


@FUZZ
@given(step=st.sampled_from(STEPS), text=HOSTILE)
@example(step="link", text='https://example.org/?ref="leaflet"&lang=<ru>')
@example(step="venue", text='Embassy "Ak Orda" <&> / Посольство\u200f')
@example(step="note", text="x" * 4000)
async def test_every_event_add_step_takes_hostile_text(app, emulator, step, text):
    await say(emulator, ADMIN_ID, "/event_add")
    last = await emulator.next_message(ADMIN_ID)
    for current in STEPS:
        if current == step:
            last = await say(emulator, ADMIN_ID, text)
            if not last.text.startswith("⚠️"):
                continue  # taken as the answer
        last = await say(emulator, ADMIN_ID, VALID[current])
    while last.text.startswith("⚠️"):  # a combination caught at the end (the date re-asked)
        last = await say(emulator, ADMIN_ID, VALID["starts"])
    done = await press(emulator, ADMIN_ID, last, "Publish")
    assert "Published" in done.text
    listed = await say(emulator, ADMIN_ID, "/protests")
    assert listed.text
    for query in ("", "Almaty"):
        await emulator.wait_inline_answer(emulator.inline_query(ADMIN_ID, query))
    for event in app.bot_data.store.events():  # keep the next example's lists short
        await app.bot_data.store.put_event({**event, "cancelled": True})


@FUZZ
@given(english=HOSTILE, russian=st.none() | HOSTILE)
@example(english='<b>Vigil</b> "16 December" & <everyone>', russian="\u202e" + "ж" * 3999)
async def test_broadcast_takes_hostile_text(app, emulator, english, russian):
    store = app.bot_data.store
    await store.put_chat(ChatSettings(SUBSCRIBER, language="ru", subscribed=True))
    emulator.user_message(ADMIN_ID, "/broadcast", user_id=ADMIN_ID)
    await message_with(emulator, "in English")  # past the last example's progress reports
    emulator.user_message(ADMIN_ID, english, user_id=ADMIN_ID)
    prompt = await message_with(emulator, "Skip")
    if russian is None:
        await press(emulator, ADMIN_ID, prompt, "Skip")
    else:
        await say(emulator, ADMIN_ID, russian)
    question = await message_with(emulator, "Send to")
    before = len(emulator.sent(SUBSCRIBER))
    await press(emulator, ADMIN_ID, question, "Send to")
    await emulator.wait_for(
        lambda: len(emulator.sent(SUBSCRIBER)) > before, timeout=20, what="the broadcast"
    )
    await emulator.wait_for(lambda: not store.meta("fanouts"), timeout=20, what="the fan-out")
