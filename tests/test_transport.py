"""Requests go to the Bot API as JSON bodies, uploads as multipart, and the API accepts both."""

from __future__ import annotations

from pathlib import Path

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.logs import quiet_noisy_loggers
from bot.store.repository import Store
from bot.telegram.budget import SendBudget
from bot.telegram.fanout import FanOut, Outgoing
from bot.telegram.transport import CONNECTIONS, JsonRequest, request_for
from emulator import Emulator
from tests.conftest import TOKEN


async def test_json_bodies_for_messages_and_multipart_for_uploads(emulator: Emulator) -> None:
    quiet_noisy_loggers()  # as build_application does: httpx logs URLs with the token
    request = JsonRequest()
    content_types: list[str] = []

    async def observe(sent: httpx.Request) -> None:
        content_types.append(sent.headers.get("Content-Type", "").split(";")[0])

    await request.initialize()
    request.client.event_hooks["request"].append(observe)
    bot = Bot(TOKEN, base_url=f"{emulator.root_url}/bot", request=request)
    async with bot:
        text = "<b>Жанаозен</b>, 16 декабря 2011 года: «расстрел» &amp; память"
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Открыть", callback_data="c|x")]])
        await bot.send_message(42, text, parse_mode=ParseMode.HTML, reply_markup=markup)
        await bot.send_document(
            42,
            b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
            filename="zhanaozen.ics",
            caption="Календарь",
        )

    (message, document) = emulator.sent(42)
    assert message.text == "Жанаозен, 16 декабря 2011 года: «расстрел» & память"
    assert message.reply_markup == markup.to_dict()
    assert emulator.documents(42)[0].file_name == "zhanaozen.ics" and document.text == "Календарь"
    assert content_types[-2:] == ["application/json", "multipart/form-data"]


async def test_a_send_that_waited_for_a_free_connection_is_retried_not_doubted(
    emulator: Emulator, data_dir: Path
) -> None:
    """A pool timeout means the request never left: unlike a lost answer, it is safe to
    send again, so the send budget retries it instead of the fan-out marking it "uncertain"."""
    quiet_noisy_loggers()
    slow, waiting = 71, 72
    emulator.inject("sendMessage", "timeout", chat_id=slow, hold=1.0, apply=True)
    request = JsonRequest(connection_pool_size=1, pool_timeout=0.05)
    store = Store.open(data_dir)
    try:
        budget = SendBudget(
            100, broadcast_rate=100, retry_delays={"reply": (), "fanout": (0.5, 1.0, 1.0)}
        )
        async with ExtBot(
            TOKEN, base_url=f"{emulator.root_url}/bot", request=request, rate_limiter=budget
        ) as bot:
            fan_out = FanOut(bot, store)
            result = await fan_out.run(
                [Outgoing("t:pool", slow, "first"), Outgoing("t:pool", waiting, "second")]
            )
        assert (result.sent, result.failed) == (2, 0)
        assert store.deliveries.rows("t:pool") == {slow: "sent", waiting: "sent"}
        assert [m.text for m in emulator.sent(waiting)] == ["second"]
    finally:
        await store.aclose()


def test_the_connection_pool_grows_with_the_broadcast_rate() -> None:
    free, paid = request_for(30), request_for(1000)
    assert free.limits.max_connections == CONNECTIONS
    assert paid.limits.max_connections == 100
    assert free.timeout.pool == paid.timeout.pool == 10
