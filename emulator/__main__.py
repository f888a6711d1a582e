"""Run the emulator in the foreground: ``python -m emulator --port 8081 [--rate 30]``.

Point a bot at it with BOT_API_URL=http://127.0.0.1:8081 and any token like 123:ABC. Each API
call is logged on one line, and each violation of the Bot API rules is flagged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import Any

from .records import ApiRequest
from .server import Emulator


def _printer(quiet: bool) -> Any:
    def show(event: str, payload: Any) -> None:
        if event == "violation":
            print(f"  !! {payload}", flush=True)
        elif (
            event == "request"
            and not quiet
            and isinstance(payload, ApiRequest)
            and payload.method != "getUpdates"
        ):
            chat = f" chat={payload.chat_id}" if payload.chat_id is not None else ""
            print(f"  {payload.method}{chat}", flush=True)

    return show


async def serve(args: argparse.Namespace) -> None:
    emulator = Emulator(
        port=args.port, username=args.username, seed=args.seed, strict_chats=args.strict_chats
    )
    if args.rate:
        emulator.rate_limit(global_per_second=args.rate)
    emulator.listeners.append(_printer(args.quiet))
    async with emulator:
        print(
            f"Bot API emulator ({emulator.spec.version}) on {emulator.root_url} - set "
            f"BOT_API_URL={emulator.root_url} and any token like 123456:TEST. Ctrl-C stops.",
            flush=True,
        )
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="Local Telegram Bot API emulator"
    )
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="flood limit in messages per second (also 20/min per group)",
    )
    parser.add_argument("--username", default="zhanaozen_sandbox_bot")
    parser.add_argument("--seed", type=int, default=0, help="seed for injected faults")
    parser.add_argument(
        "--strict-chats",
        action="store_true",
        help='answer "chat not found" for chats no user wrote from',
    )
    parser.add_argument("--quiet", action="store_true", help="log only violations")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
