"""One person must not silence the bot (issue 22, security review 3 H1-H3): floods from one
group, from one inline user and from ten private accounts, against the real Application over
real HTTP, with the emulator enforcing Telegram's 30 a second and 20 a minute per group.

"Within a second" is what the issue asks; each latency is measured from the moment the
victim's update is queued (the bot having fetched the flood) to the moment the emulator
records the answer. Before the fixes the same floods gave 21-62 s.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from conftest import BOT_USERNAME

from bot.store.models import ChatSettings
from bot.telegram.fairness import Admission, Rate, Verdict
from bot.telegram.fanout import FanOut, Outgoing
from emulator import Emulator

GROUP, FLOODER = -1900, 77
VICTIMS = (5001, 5002, 5003)
WITHIN = 1.0


@pytest.fixture(autouse=True)
def telegrams_limits(emulator: Emulator) -> None:
    emulator.rate_limit(global_per_second=30, per_group_per_minute=20)


async def victims_answered(emulator: Emulator, text: str = "/start") -> dict[int, float]:
    """Seconds from each victim's /start being queued to its answer, once the bot has
    fetched the whole flood (how fast 1,000 updates cross the wire is not the bot's share)."""
    await emulator.wait_for(lambda: not emulator.pending, timeout=60, what="the flood fetched")
    latencies = {}
    for victim in VICTIMS:
        asked = time.monotonic()
        emulator.user_message(victim, text, user_id=victim)
        await emulator.next_message(victim, timeout=90)
        latencies[victim] = time.monotonic() - asked
    return latencies


def test_a_sender_beyond_their_share_is_told_once_then_dropped():
    admission = Admission(user=Rate(burst=3, per_second=1.0))
    verdicts = [admission.check(1, now=0.0) for _ in range(6)]
    assert verdicts == [Verdict.ADMIT] * 3 + [Verdict.NOTICE, Verdict.DROP, Verdict.DROP]
    assert admission.check(2, now=0.0) is Verdict.ADMIT, "another sender has their own share"
    assert admission.check(1, now=1.0) is Verdict.ADMIT, "the bucket refills"
    assert admission.check(1, now=1.0) is Verdict.DROP
    assert [admission.check(1, now=61.0) for _ in range(4)][-1] is Verdict.NOTICE


@pytest.mark.parametrize("edits", [False, True], ids=["commands", "edits"])
async def test_one_group_member_flooding_does_not_silence_the_bot(app, emulator, edits):
    """90 /help in one supergroup (or one message edited 90 times): other people are
    answered within a second, and the group gets at most its 20 a minute."""
    command = f"/help@{BOT_USERNAME}"
    first = emulator.user_message(GROUP, command, user_id=FLOODER, chat_type="supergroup")
    assert first is not None
    message_id = emulator.update_log[first]["message"]["message_id"]
    for _ in range(90):
        if edits:
            emulator.edited_message(GROUP, message_id, command, user_id=FLOODER)
        else:
            emulator.user_message(GROUP, command, user_id=FLOODER, chat_type="supergroup")
    latencies = await victims_answered(emulator)
    assert max(latencies.values()) < WITHIN, latencies
    to_group = [m for m in emulator.sent(GROUP) if not m.edited]
    assert 1 <= len(to_group) <= 21, "an answer or two, a slow-down notice, never a minute's wait"
    if edits:
        assert len(to_group) == 1, "an edited command is not answered again"
    assert emulator.too_many_requests == 0


@pytest.mark.parametrize("accounts", [1, 10])
async def test_an_inline_flood_does_not_silence_the_bot(app, emulator, accounts):
    """1,000 distinct inline queries of eight random words (each the costliest kind of
    search) from one account, or from ten: another user's /start and their own inline
    search are answered within a second."""
    rng = random.Random(5)  # words that match nothing: every way of searching is tried
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(5, 9)))
        for _ in range(8000)
    ]
    for n in range(1000):
        emulator.inline_query(FLOODER + n % accounts, " ".join(words[n * 8 : n * 8 + 8]))
    latencies = await victims_answered(emulator)
    assert max(latencies.values()) < WITHIN, latencies
    asked = time.monotonic()
    answer = await emulator.wait_inline_answer(
        emulator.inline_query(VICTIMS[0], "Tuletaeva"), timeout=60
    )
    assert time.monotonic() - asked < WITHIN
    assert answer.results, "the other user's search found the card"


async def test_ten_private_flooders_leave_others_answered_and_the_fan_out_going(app, emulator):
    """Ten accounts send 60 /help each while a reminder fan-out runs: other people are
    answered within a second and the fan-out keeps at least 10 messages a second (measured
    over the three seconds after the bot fetched the flood; before the fix, 0.1/s)."""
    store = app.bot_data.store
    stop = False
    items = [Outgoing("t:fair", chat_id, "reminder") for chat_id in range(20001, 22001)]
    fan_out = asyncio.ensure_future(FanOut(app.bot, store).run(items, keep_going=lambda: not stop))
    reminders = lambda: sum(1 for m in emulator.sent() if m.text == "reminder")  # noqa: E731
    await emulator.wait_for(lambda: reminders() >= 30, timeout=30, what="the fan-out")
    flooders = range(6001, 6011)
    for _ in range(60):
        for flooder in flooders:
            emulator.user_message(flooder, "/help", user_id=flooder)
    await emulator.wait_for(lambda: not emulator.pending, timeout=60, what="the flood fetched")
    started, sent_before = time.monotonic(), reminders()
    latencies = await victims_answered(emulator)
    await asyncio.sleep(max(0.0, 3.0 - (time.monotonic() - started)))
    rate = (reminders() - sent_before) / (time.monotonic() - started)
    stop = True
    await fan_out
    assert max(latencies.values()) < WITHIN, latencies
    assert rate >= 10, f"the fan-out fell to {rate:.1f} messages a second"
    answered = sum(len(emulator.sent(flooder)) for flooder in flooders)
    assert answered < 400, f"{answered} answers for 600 commands: no one was limited"
    assert emulator.too_many_requests == 0


async def test_300_presses_of_one_button_cost_a_handful_of_file_writes(app, emulator):
    """Security review 3 M3: each press was a rewrite of chats.json (3.4 MB at 100,000
    subscribers: 1 GB for 300 presses). Now one sender's burst is mostly dropped, and the
    rest write at most 14 times: under 50 MB at that size."""
    store = app.bot_data.store
    await store.put_chat(ChatSettings(VICTIMS[0], language="en", subscribed=True))
    emulator.user_message(VICTIMS[0], "/settings", user_id=VICTIMS[0])
    panel = await emulator.next_message(VICTIMS[0])
    data = panel.button("7 days")["callback_data"]
    before = store.flush_count
    for _ in range(300):
        emulator.press(VICTIMS[0], panel.message_id, data, user_id=VICTIMS[0])
    await emulator.wait_for(lambda: not emulator.pending, timeout=60, what="the presses")
    await asyncio.sleep(1.0)
    assert store.flush_count - before <= 14, f"{store.flush_count - before} file writes"
