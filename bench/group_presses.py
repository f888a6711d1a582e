"""One busy group: ``python bench/group_presses.py [--presses 200]``.

The price of running one chat's updates in order (``bot.handlers.admission.FairUpdates``):
``--presses`` members of one supergroup press ✋ "I plan to come" under the same protest list
at once, and one person in a private chat sends /start meanwhile. The real bot
(``build_application``) against the Bot API emulator, over real HTTP. Reported: seconds
until every press is answered, seconds until the private /start is, and the store's file
writes for the presses (each press in turn awaits its own durable write).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is sys.path[0]

from harness import TOKEN

from bot.app import build_application, start_application, stop_application
from bot.config import Config
from bot.content.schema import ProtestEvent
from emulator import Emulator

GROUP, PRIVATE = -1700, 777
BOT_USERNAME = "zhanaozen_bench_bot"
PROTEST = ProtestEvent.model_validate(
    {
        "id": "almaty-2026-12-16",
        "city": {"en": "Almaty", "ru": "Алматы"},
        "venue": {"en": "Old Square", "ru": "Старая площадь"},
        "address": "Abylai Khan Ave",
        "starts_at": "2026-12-16T12:00:00",
        "timezone": "Asia/Almaty",
        "organiser": {"en": "Solidarity group", "ru": "Группа солидарности"},
    }
)


async def run(presses: int) -> None:
    async with Emulator(username=BOT_USERNAME) as emulator:
        with tempfile.TemporaryDirectory() as data_dir:
            config = Config(token=TOKEN, api_url=emulator.root_url, data_dir=Path(data_dir))
            app = build_application(config)
            await start_application(app, poll_timeout=1)
            try:
                await measure(app, emulator, presses)
            finally:
                await stop_application(app)


async def measure(app, emulator: Emulator, presses: int) -> None:
    store = app.bot_data.store
    await app.bot_data.protests.save(PROTEST)
    emulator.user_message(GROUP, f"/protests@{BOT_USERNAME}", user_id=5, chat_type="supergroup")
    listed = await emulator.next_message(GROUP, timeout=20)
    data = listed.button("✋")["callback_data"]
    writes = store.flush_count
    start = time.monotonic()
    pressed = [
        emulator.press(GROUP, listed.message_id, data, user_id=10_000 + member)
        for member in range(presses)
    ]
    emulator.user_message(PRIVATE, "/start", user_id=PRIVATE)
    await emulator.next_message(PRIVATE, timeout=60)
    private = time.monotonic() - start
    await emulator.wait_for(
        lambda: all(emulator.callback_answer(update_id) for update_id in pressed), timeout=300
    )
    answered = time.monotonic() - start
    print(
        f"{presses} presses in one group: all answered in {answered:.2f} s; a private /start "
        f"meanwhile in {private:.2f} s; {store.flush_count - writes} file writes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200, help="members pressing at once")
    asyncio.run(run(parser.parse_args().presses))


if __name__ == "__main__":
    main()
