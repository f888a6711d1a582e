"""The one send budget (bot/telegram/budget.py) and how the transport classifies failures.

Through real HTTP against the emulator, with PTB's ExtBot and the bot's own SendBudget and
JsonRequest. Where a connection must fail, an httpx transport wrapper fails it: httpx is the
layer below PTB, and the error PTB sees is the one a real network gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from pathlib import Path

import httpx
import pytest
from conftest import make_config, running_bot
from telegram.ext import ExtBot

from bot.app import build_application
from bot.config import ConfigError, load_config
from bot.logs import quiet_noisy_loggers
from bot.store.repository import Store
from bot.telegram.budget import FANOUT, MAX_FLOOD_WAITS, GroupBusy, SendBudget
from bot.telegram.fanout import FanOut, InFlight, Outgoing
from bot.telegram.transport import JsonRequest
from emulator import Emulator
from tests.chat import say
from tests.conftest import TOKEN

SPEC = Path(__file__).resolve().parent.parent / "emulator" / "botapi_spec.json"


class Wrapped(httpx.AsyncBaseTransport):
    """A transport in front of httpx's own, which tests bend to make the network misbehave."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def aclose(self) -> None:
        await self.inner.aclose()


class Flaky(Wrapped):
    """Fails the first ``times`` sendMessage requests with ``error``; ``after_sending``
    first lets the request reach the emulator (an answer lost on the way back)."""

    def __init__(
        self, error: type[httpx.TransportError], times: int = 1, *, after_sending: bool = False
    ) -> None:
        super().__init__()
        self.error, self.times, self.after_sending = error, times, after_sending

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.times and request.url.path.endswith("/sendMessage"):
            self.times -= 1
            if self.after_sending:
                response = await self.inner.handle_async_request(request)
                await response.aread()
            raise self.error("injected", request=request)
        return await self.inner.handle_async_request(request)


class RequestThrough(JsonRequest):
    """The bot's own request object, its connections made through ``transport``."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport
        super().__init__()

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=self.timeout)


def ext_bot(emulator: Emulator, budget: SendBudget, request: JsonRequest | None = None) -> ExtBot:
    quiet_noisy_loggers()  # httpx logs URLs, and those carry the token
    return ExtBot(
        TOKEN,
        base_url=f"{emulator.root_url}/bot",
        request=request or JsonRequest(),
        rate_limiter=budget,
    )


QUICK = {"reply": (0.05, 0.05), "fanout": (0.05, 0.05)}


def sends(emulator: Emulator) -> list:
    return [r for r in emulator.requests if r.method == "sendMessage"]


# Priorities ----------------------------------------------------------------------------------


async def test_a_reply_takes_the_next_slot_but_a_chat_asking_again_leaves_the_fan_out_a_share(
    emulator: Emulator, data_dir: Path
) -> None:
    """One person asks eight times in a row while a fan-out uses the whole budget: the first
    answer takes the next slot, but a chat answered moments ago shares with the fan-out, so
    a few reminders go out between the eight answers (first come, first served would give
    four; answers always first, none)."""
    store = Store.open(data_dir)
    stop = False
    try:
        async with ext_bot(emulator, SendBudget(5, broadcast_rate=5)) as bot:
            items = [Outgoing("t:prio", chat_id, "reminder") for chat_id in range(2001, 2101)]
            fan_out = asyncio.ensure_future(
                FanOut(bot, store).run(items, keep_going=lambda: not stop)
            )
            await emulator.wait_for(
                lambda: len(sends(emulator)) >= 3, timeout=20, what="the fan-out to be under way"
            )
            before = len(sends(emulator))
            for number in range(8):
                await bot.send_message(3000, f"answer {number}")
            stop = True
            result = await fan_out
        assert result.stopped and result.failed == 0
        order = [r.chat_id for r in sends(emulator)]
        first, last = order.index(3000), len(order) - 1 - order[::-1].index(3000)
        assert first - before <= 1, "the first answer waited behind the fan-out"
        between = [chat for chat in order[first:last] if chat != 3000]
        assert 2 <= len(between) <= 4, f"{len(between)} reminders went between 8 answers"
    finally:
        await store.aclose()


async def test_answers_to_a_few_chats_leave_the_fan_out_a_third_and_others_go_first(
    emulator: Emulator, data_dir: Path
) -> None:
    """Ten chats each want 20 answers at once while a fan-out runs: the fan-out still gets
    at least a third of the slots, and an eleventh chat's answer overtakes their backlog."""
    store = Store.open(data_dir)
    stop = False
    try:
        async with ext_bot(emulator, SendBudget(30, broadcast_rate=30)) as bot:
            items = [Outgoing("t:share", chat_id, "reminder") for chat_id in range(2001, 3001)]
            fan_out = asyncio.ensure_future(
                FanOut(bot, store).run(items, keep_going=lambda: not stop)
            )
            await emulator.wait_for(
                lambda: len(sends(emulator)) >= 3, timeout=20, what="the fan-out to be under way"
            )
            flood = [
                asyncio.ensure_future(bot.send_message(4000 + n % 10, f"flood {n}"))
                for n in range(200)
            ]
            await asyncio.sleep(0.2)
            await bot.send_message(5000, "someone else")
            await asyncio.gather(*flood)
            stop = True
            await fan_out
        order = [r.chat_id for r in sends(emulator)]
        first_flood = next(i for i, chat in enumerate(order) if 4000 <= chat < 4010)
        last_flood = max(i for i, chat in enumerate(order) if 4000 <= chat < 4010)
        during = order[first_flood : last_flood + 1]
        reminders = sum(1 for chat in during if 2001 <= chat <= 3000)
        assert reminders >= len(during) / 3 - 2, f"{reminders} of {len(during)} were reminders"
        flood_before = sum(1 for chat in order[: order.index(5000)] if 4000 <= chat < 4010)
        assert flood_before < 60, f"{flood_before} flood answers went before the other chat's"
    finally:
        await store.aclose()


# The one-second window: what Telegram counts ------------------------------------------------


class Jittery(Wrapped):
    """Holds each sendMessage back a random 0-0.5 s before it reaches the emulator: a slow
    network or a busy machine, which bunches arrivals however evenly the slots were spaced."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.random = random.Random(seed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sendMessage"):
            await asyncio.sleep(self.random.uniform(0, 0.5))
        return await self.inner.handle_async_request(request)


async def test_bunched_arrivals_never_exceed_telegrams_window(
    emulator: Emulator, data_dir: Path
) -> None:
    """Replies and a fan-out at a budget of 10/s, every request delayed a random amount on
    the way: Telegram (the emulator, 10 in any second) never sees an eleventh, and once all
    is answered the budget holds no slot."""
    emulator.rate_limit(global_per_second=10, per_group_per_minute=None)
    store = Store.open(data_dir)
    try:
        budget = SendBudget(10, broadcast_rate=10)
        async with ext_bot(emulator, budget, RequestThrough(Jittery(seed=11))) as bot:
            items = [Outgoing("t:window", chat_id, "reminder") for chat_id in range(6001, 6031)]
            fan_out = asyncio.ensure_future(FanOut(bot, store).run(items))
            await asyncio.gather(*(bot.send_message(6100 + n, f"answer {n}") for n in range(15)))
            result = await fan_out
        assert emulator.too_many_requests == 0
        assert result.sent == 30 and len(sends(emulator)) == 45
        assert budget.in_flight == 0, "every slot handed out was given back"
    finally:
        await store.aclose()


# Per-group limit -----------------------------------------------------------------------------


async def test_a_group_gets_no_more_than_its_limit_and_other_chats_do_not_wait(
    emulator: Emulator,
) -> None:
    """A fan-out message waits for the group's minute (it has a task of its own); an answer
    is refused at once, since waiting would hold one of the handlers' update slots."""
    emulator.rate_limit(global_per_second=None, per_group_per_minute=3)
    async with ext_bot(emulator, SendBudget(30, group_per_minute=3)) as bot:
        await asyncio.gather(*(bot.send_message(-500, f"card {n}") for n in range(3)))
        fourth = asyncio.ensure_future(bot.send_message(-500, "card 3", rate_limit_args=FANOUT))
        with pytest.raises(GroupBusy):
            await bot.send_message(-500, "an answer to the busy group")
        await bot.send_message(501, "a private chat is not held up")
        await asyncio.sleep(0.5)
        assert [m.text for m in emulator.sent(-500)] == ["card 0", "card 1", "card 2"]
        assert not fourth.done(), "the fourth message to the group did not wait its minute"
        fourth.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fourth
    assert emulator.too_many_requests == 0


async def test_a_429_in_one_group_holds_that_group_only(emulator: Emulator) -> None:
    """Security review 3 H1: a group's 429 paused every lane, the fan-out included. Now the
    answer to that group is dropped and everyone else is served at once."""
    emulator.inject("sendMessage", "429", chat_id=-600, retry_after=2)
    async with ext_bot(emulator, SendBudget(30)) as bot:
        with pytest.raises(GroupBusy):
            await bot.send_message(-600, "an answer to the group")
        started = time.monotonic()
        await bot.send_message(601, "a private chat does not wait")
        assert time.monotonic() - started < 1.0, "the group's pause held another chat"


# Retry policy: one place, bounded --------------------------------------------------------


async def test_a_flood_answer_is_waited_out_a_bounded_number_of_times(
    emulator: Emulator, data_dir: Path
) -> None:
    fault = emulator.inject("sendMessage", "429", chat_id=77, retry_after=1, times=100)
    store = Store.open(data_dir)
    try:
        budget = SendBudget(30)
        async with ext_bot(emulator, budget) as bot:
            result = await FanOut(bot, store).run(
                [Outgoing("t:flood", 77, "x"), Outgoing("t:flood", 78, "y")]
            )
        assert fault.hits == MAX_FLOOD_WAITS + 1, "one attempt plus the budget's waits"
        assert budget.pace < 30, "Telegram saw too many: the budget slows down"
        assert store.deliveries.rows("t:flood") == {77: "failed", 78: "sent"}
        assert (result.sent, result.failed) == (1, 1)
    finally:
        await store.aclose()


# Never sent vs lost answer: by exception type ----------------------------------------------


@pytest.mark.parametrize("error", [httpx.ConnectTimeout, httpx.ConnectError, httpx.PoolTimeout])
async def test_a_fan_out_send_that_never_left_is_retried_not_doubted(
    emulator: Emulator, data_dir: Path, error: type[httpx.TransportError]
) -> None:
    store = Store.open(data_dir)
    try:
        budget = SendBudget(30, retry_delays=QUICK)
        async with ext_bot(emulator, budget, RequestThrough(Flaky(error))) as bot:
            result = await FanOut(bot, store).run([Outgoing("t:connect", 81, "hello")])
        assert store.deliveries.rows("t:connect") == {81: "sent"} and result.sent == 1
        assert [m.text for m in emulator.sent(81)] == ["hello"]
    finally:
        await store.aclose()


async def test_a_reply_whose_connection_failed_is_retried(emulator: Emulator) -> None:
    budget = SendBudget(30, retry_delays=QUICK)
    async with ext_bot(emulator, budget, RequestThrough(Flaky(httpx.ConnectError))) as bot:
        await bot.send_message(82, "your card")
    assert [m.text for m in emulator.sent(82)] == ["your card"]


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError])
async def test_a_send_whose_answer_was_lost_is_uncertain_and_never_resent(
    emulator: Emulator, data_dir: Path, error: type[httpx.TransportError]
) -> None:
    store = Store.open(data_dir)
    try:
        budget = SendBudget(30, retry_delays=QUICK)
        request = RequestThrough(Flaky(error, after_sending=True))
        async with ext_bot(emulator, budget, request) as bot:
            await FanOut(bot, store).run([Outgoing("t:lost", 83, "once")])
        assert store.deliveries.rows("t:lost") == {83: "uncertain"}
        assert [m.text for m in emulator.sent(83)] == ["once"]
    finally:
        await store.aclose()


# Paid broadcasts and the configured rate -------------------------------------------------


def test_the_spec_knows_allow_paid_broadcast() -> None:
    spec = json.loads(SPEC.read_text())
    assert spec["methods"]["sendMessage"]["fields"]["allow_paid_broadcast"]["types"] == ["Boolean"]


async def test_exactly_the_fan_out_messages_are_paid_broadcasts(
    emulator: Emulator, data_dir: Path
) -> None:
    config = make_config(emulator, data_dir, paid_broadcast=True, broadcast_rate=200.0)
    async with running_bot(config) as app:
        items = [Outgoing("t:paid", chat_id, "reminder") for chat_id in range(4001, 4041)]
        fan_out = asyncio.ensure_future(FanOut(app.bot, app.bot_data.store).run(items))
        answer = await say(emulator, 950, "/help")
        result = await fan_out
    assert result.sent == 40 and answer.text
    paid = {r.chat_id for r in sends(emulator) if r.params.get("allow_paid_broadcast")}
    assert paid == set(range(4001, 4041))
    assert all("allow_paid_broadcast" not in r.params for r in sends(emulator) if r.chat_id == 950)


def environment(emulator: Emulator, data_dir: Path, **values: str) -> dict[str, str]:
    return {
        "BOT_TOKEN": TOKEN,
        "BOT_API_URL": emulator.root_url,
        "BOT_DATA_DIR": str(data_dir),
        **values,
    }


@pytest.mark.parametrize(
    ("values", "fan_out_rate"),
    [
        ({}, 30.0),
        ({"BOT_BROADCAST_RATE": "4"}, 4.0),
        ({"BOT_BROADCAST_RATE": "1000"}, 30.0),  # without paid broadcasts: the free budget
        ({"BOT_BROADCAST_RATE": "1000", "BOT_PAID_BROADCAST": "1"}, 1000.0),
    ],
)
def test_the_fan_out_rate_comes_from_the_settings(emulator, data_dir, values, fan_out_rate):
    application = build_application(load_config(environment(emulator, data_dir, **values)))
    budget = application.bot.rate_limiter
    assert isinstance(budget, SendBudget)
    assert (budget.rate, budget.fanout_rate) == (30.0, fan_out_rate)


def test_a_broadcast_rate_over_telegrams_paid_limit_is_refused(emulator, data_dir):
    with pytest.raises(ConfigError, match="BOT_BROADCAST_RATE"):
        load_config(environment(emulator, data_dir, BOT_BROADCAST_RATE="1001"))


async def test_the_broadcast_rate_paces_the_shipped_bots_fan_out(emulator, data_dir):
    """A lower bound only: nine messages at 4 a second cannot take less than two seconds."""
    config = load_config(environment(emulator, data_dir, BOT_BROADCAST_RATE="4"))
    async with running_bot(config) as app:
        items = [Outgoing("t:rate", chat_id, "reminder") for chat_id in range(5001, 5010)]
        began = time.monotonic()
        result = await FanOut(app.bot, app.bot_data.store).run(items)
        elapsed = time.monotonic() - began
    assert result.sent == 9
    assert elapsed >= 8 / 4, f"9 messages in {elapsed:.2f} s: faster than BOT_BROADCAST_RATE"


# How many sends the fan-out keeps in flight -------------------------------------------------


def test_the_fan_out_keeps_in_flight_what_its_rate_needs_at_the_network_round_trip() -> None:
    far = InFlight(rate=1000, most=100)
    assert far.limit == 8, "it starts small, before any round trip is known"
    far.release(0.08)  # Telegram 80 ms away: 1,000/s needs 80 in flight
    assert far.limit == 100, "twice the need, within the connections"
    near = InFlight(rate=1000, most=100)
    near.release(0.02)
    assert near.limit == 40
    near.release(0.5)  # a slow answer (a queue, a flood wait) never raises it again
    assert near.limit == 40
    near.release(0.001)
    assert near.limit == 8, "never below the floor"


async def test_the_fan_out_never_has_more_in_flight_than_its_limit() -> None:
    in_flight, most_seen = InFlight(rate=30, most=16), 0

    async def send() -> None:
        nonlocal most_seen
        await in_flight.acquire()
        most_seen = max(most_seen, in_flight.busy)
        await asyncio.sleep(0.01)
        in_flight.release(0.01)

    await asyncio.gather(*(send() for _ in range(50)))
    assert most_seen == 8 and in_flight.busy == 0
