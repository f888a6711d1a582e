"""A bot in its own process for the benchmarks: the real one or a bare PTB echo bot.

Prints ``{"event": "ready", ...}`` once polling, with the start-up phases timed; then obeys
one JSON command per line on stdin: ``status`` (delivery counts so far) and ``stop`` (stop
as ``run_polling`` would, then print peak RSS and CPU time). Logs go to stderr.

``--at`` runs the whole process on a shifted wall clock (time-machine, ticking), so the
reminder fan-out of 16 December can be benchmarked on any day: the bot's own catch-up sweep
at start finds the reminders due and sends them, exactly as after a restart at that time.
"""

from __future__ import annotations

import time

STARTED = time.monotonic()

import argparse  # noqa: E402 - the clock above must start before the imports
import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def emit(message: dict) -> None:
    print(json.dumps(message), flush=True)


def _peak_rss() -> float:
    """This process's peak RSS in MB. VmHWM, not ru_maxrss: the latter survives fork and
    exec, so a child of a big parent (the benchmark that built the store) reports its peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def request_class(json_body: bool) -> type:
    """PTB's HTTPXRequest, or (``--json-body``) the bot's own, which posts JSON bodies."""
    from telegram.request import HTTPXRequest

    from bot.telegram.transport import JsonRequest

    return JsonRequest if json_body else HTTPXRequest


async def real_bot(args: argparse.Namespace) -> tuple[Any, dict]:
    from bot.app import build_application, start_application
    from bot.config import Config
    from bot.store.repository import Store

    timings = {"imports_s": time.monotonic() - STARTED}
    config = Config(
        token=args.token,
        api_url=args.api_url,
        data_dir=Path(args.data_dir),
        admin_ids=frozenset({1000}),
        broadcast_rate=args.rate,
        send_rate=args.send_rate,
        paid_broadcast=args.paid,
    )
    began = time.monotonic()
    store = Store.open(config.data_dir)
    timings["store_open_s"] = time.monotonic() - began
    timings["peak_rss_store_mb"] = _peak_rss()
    timings["chats"] = store.chat_count()
    application = build_application(config, store)  # exactly as shipped
    setup = application.post_init

    async def timed_setup(app: Any) -> None:
        began = time.monotonic()
        await setup(app)
        timings["setup_s"] = time.monotonic() - began  # content, library, menus, jobs
        timings["peak_rss_setup_mb"] = _peak_rss()

    application.post_init = timed_setup
    await start_application(application, poll_timeout=args.poll_timeout)
    return application, timings


async def echo_bot(args: argparse.Namespace) -> tuple[Any, dict]:
    """The floor: python-telegram-bot with trivial handlers, the real bot's update concurrency
    and parse mode. PTB's defaults otherwise, or (``--fair``) the real bot's HTTP settings
    (``request_for``: JSON bodies, its pool) and its send budget at the same rate."""
    from telegram import (
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        InlineQueryResultArticle,
        InputTextMessageContent,
    )
    from telegram.constants import ParseMode
    from telegram.ext import (
        ApplicationBuilder,
        CallbackQueryHandler,
        Defaults,
        InlineQueryHandler,
        MessageHandler,
        filters,
    )

    from bot.app import CONCURRENT_UPDATES
    from bot.handlers import ALLOWED_UPDATES

    timings = {"imports_s": time.monotonic() - STARTED}
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("again", callback_data="card:echo"),
                InlineKeyboardButton("list", callback_data="list:a"),
            ]
        ]
    )
    edits = 0

    async def on_message(update, context) -> None:
        text = (update.effective_message.text or "?")[:200]
        await context.bot.send_message(
            update.effective_chat.id, _escape(text), reply_markup=keyboard
        )

    async def on_button(update, context) -> None:
        nonlocal edits
        edits += 1  # an edit must change the text, or Telegram refuses it
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(
            f"{_escape(update.callback_query.data)} #{edits}", reply_markup=keyboard
        )

    async def on_inline(update, context) -> None:
        query = update.inline_query.query or "echo"
        await update.inline_query.answer(
            [
                InlineQueryResultArticle(
                    id="1",
                    title=query,
                    input_message_content=InputTextMessageContent(_escape(query)),
                )
            ],
            cache_time=0,
        )

    builder = (
        ApplicationBuilder()
        .token(args.token)
        .base_url(f"{args.api_url}/bot")
        .base_file_url(f"{args.api_url}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .concurrent_updates(CONCURRENT_UPDATES)
    )
    if args.fair:
        from bot.telegram.budget import SendBudget
        from bot.telegram.transport import request_for

        builder = builder.request(request_for(args.rate)).rate_limiter(
            SendBudget(args.send_rate, broadcast_rate=args.rate)
        )
    elif args.pool or args.json_body:
        builder = builder.request(
            request_class(args.json_body)(connection_pool_size=args.pool or 256)
        )
    application = builder.build()
    application.add_handler(MessageHandler(filters.ALL, on_message))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(InlineQueryHandler(on_inline))
    await application.initialize()
    await application.updater.start_polling(
        poll_interval=0, timeout=args.poll_timeout, allowed_updates=ALLOWED_UPDATES
    )
    await application.start()
    return application, timings


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def delivery_counts(application: Any) -> dict | None:
    store = getattr(application.bot_data, "store", None)
    return store.deliveries.counts() if store is not None else None


async def bare_sender(args: argparse.Namespace) -> None:
    """The ceiling for B2: a bare PTB Bot sending ``--messages`` paid-broadcast messages,
    ``--workers`` at a time, with no store, no pacing and no handlers; a 429 is waited out
    and the message sent again, as the bot does, so a flood answer never ends the run. Each
    message has the shape of the bot's reminder (HTML text, one card button, no link
    preview), so the ceiling and the bot send the same bytes."""
    from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
    from telegram.error import RetryAfter

    text = (
        "🕯 <b>Zhanaozen massacre</b>\nToday, 16 December. It is 15 years since.\n\n"
        "On 16 December 2011 police opened fire on striking oil workers in Zhanaozen."
    )
    bot = Bot(
        args.token,
        base_url=f"{args.api_url}/bot",
        request=request_class(args.json_body)(connection_pool_size=args.pool or 256),
    )
    await bot.initialize()
    emit({"event": "ready", "timings": {}, "cpu_s": _cpu(), "peak_rss_mb": _peak_rss()})
    numbers = iter(range(args.messages))

    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Open the card", callback_data="card:zhanaozen-massacre-2011")]]
    )
    no_preview = LinkPreviewOptions(is_disabled=True)

    async def worker() -> None:
        for number in numbers:
            while True:
                try:
                    await bot.send_message(
                        args.first_chat + number,
                        text,
                        parse_mode="HTML",
                        reply_markup=markup,
                        link_preview_options=no_preview,
                        allow_paid_broadcast=True,
                    )
                    break
                except RetryAfter as flood:  # waited out and sent again, as the bot does
                    delay = flood.retry_after  # seconds, or a timedelta with PTB_TIMEDELTA
                    await asyncio.sleep(
                        delay.total_seconds() if isinstance(delay, timedelta) else delay
                    )

    await asyncio.gather(*(worker() for _ in range(args.workers)))
    await bot.shutdown()
    emit(
        {"event": "stopped", "cpu_s": _cpu(), "delivery_counts": None, "peak_rss_mb": _peak_rss()}
    )


async def run(args: argparse.Namespace) -> None:
    if args.kind == "sender":
        await bare_sender(args)
        return
    application, timings = await (real_bot(args) if args.kind == "real" else echo_bot(args))
    timings["ready_s"] = time.monotonic() - STARTED
    emit({"event": "ready", "timings": timings, "cpu_s": _cpu(), "peak_rss_mb": _peak_rss()})
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        command = json.loads(line)["cmd"] if line.strip() else "stop"
        if command == "status":
            emit({"delivery_counts": delivery_counts(application), "cpu_s": _cpu()})
            continue
        break
    if args.kind == "real":
        from bot.app import stop_application

        await stop_application(application)
    else:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    emit(
        {
            "event": "stopped",
            "cpu_s": _cpu(),
            "delivery_counts": delivery_counts(application),
            "peak_rss_mb": _peak_rss(),
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("real", "echo", "sender"), default="real")
    parser.add_argument("--messages", type=int, default=5000, help="for --kind sender")
    parser.add_argument("--first-chat", type=int, default=3_000_000, help="for --kind sender")
    parser.add_argument(
        "--workers", type=int, default=64, help="for --kind sender: messages in flight at once"
    )
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--paid", action="store_true")
    parser.add_argument("--at", default=None, help="ISO instant the wall clock starts at")
    parser.add_argument(
        "--send-rate", type=float, default=30.0, help="the send budget (BOT_SEND_RATE), messages/s"
    )
    parser.add_argument(
        "--fair",
        action="store_true",
        help="echo bot: the real bot's HTTP settings and send budget",
    )
    parser.add_argument(
        "--pool", type=int, default=0, help="HTTP connection pool size (echo bot, bare sender)"
    )
    parser.add_argument(
        "--json-body",
        action="store_true",
        help="post JSON bodies (echo bot, bare sender; the real bot always does)",
    )
    parser.add_argument("--poll-timeout", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("bot").setLevel(logging.INFO)
    if args.at:
        # time-machine imports pytest for its plugin when it can (some 60 ms of a cold start
        # the bot itself never spends): hidden here, it does not.
        sys.modules["pytest"] = None  # type: ignore[assignment]
        import time_machine

        del sys.modules["pytest"]

        time_machine.travel(datetime.fromisoformat(args.at), tick=True).start()
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
