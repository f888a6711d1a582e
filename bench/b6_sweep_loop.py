"""B6, the event loop during a sweep: ``python bench/b6_sweep_loop.py``.

100,000 subscribers all due their 16 December message at 10:00 UTC, every one already logged
"sent" (as after a restart at 10:05 on the day): a sweep then sends nothing, so what is
measured is what it computes, not what it sends. The real bot (``build_application`` and
``start_application`` against the in-process Bot API emulator, production settings) runs
the sweep while a probe task on the same event loop wakes every millisecond and records how
late it woke: the longest wait is what an update arriving during the sweep could have waited.

It also reports what a store of that size costs to hold: the start (store open, content,
menus: ``start_application``), the data files' sizes on disk after the sweeps, and the
process's peak RSS through the shipped sweeps (the bot with the in-process emulator), for
the 1,000,000-chat figures.

Beside it, in the same run, the same decisions taken the way the sweep took them before
(``plan_sweep`` and its 100,000 delivery-log lookups on the event loop), as the ratio to
compare. Figures are ratios within one run; the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import time_machine

from bot.app import build_application, start_application, stop_application
from bot.config import Config
from bot.reminders import service
from bot.reminders.schedule import digests, due_for_groups
from bot.store.snapshots import SNAPSHOT_FORMAT, SNAPSHOT_VERSION
from bot.store.snapshots import restore as restore_snapshot
from emulator import Emulator
from tests.sweep_model import plan_sweep  # the per-message rule, now kept as the tests' model

TOKEN = "123456:BENCH-token-ABCDEFGHIJKLMNOPQRSTUV"
DUE = datetime(2026, 12, 16, 10, tzinfo=UTC)
NOW = datetime(2026, 12, 16, 10, 5, tzinfo=UTC)


def build(data_dir: Path, subscribers: int) -> None:
    chats = [
        {
            "chat_id": 1_000_000 + n,
            "chat_type": "private",
            "language": "en",
            "timezone": "UTC",
            "hour": 10,
            "subscribed": True,
            "topics": "dec16",
            "cities": [],
            "leads": [0],
        }
        for n in range(subscribers)
    ]
    day = int(DUE.timestamp() // 86400)
    rows = {str(chat["chat_id"]): "sent" for chat in chats}
    snapshot = data_dir.parent / "seed.json"
    snapshot.write_text(
        json.dumps(
            {
                "format": SNAPSHOT_FORMAT,
                "version": SNAPSHOT_VERSION,
                "chats": chats,
                "deliveries": {"d:2026-12-16": {"day": day, "rows": rows}},
                "events": [],
                "meta": {},
            }
        )
    )
    restore_snapshot(data_dir, snapshot)


async def longest_stall(work) -> tuple[float, float]:
    """(longest late wake-up of a 1 ms sleeper, seconds ``work`` took), both in seconds."""
    stop = asyncio.Event()
    worst = 0.0

    async def probe() -> None:
        nonlocal worst
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - before - 0.001)

    task = asyncio.ensure_future(probe())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await work()
    took = time.perf_counter() - started
    stop.set()
    await task
    return worst, took


async def run(subscribers: int, turns: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir(mode=0o700)
        # Seeded in a process of its own, so the peak RSS measured is the bot's, not the seed's.
        seeder = multiprocessing.get_context("spawn").Process(
            target=build, args=(data_dir, subscribers)
        )
        seeder.start()
        seeder.join()
        assert seeder.exitcode == 0, "seeding the store failed"
        async with Emulator(username="bench_bot") as emulator:
            config = Config(
                token=TOKEN, api_url=emulator.root_url, data_dir=data_dir, admin_ids=frozenset()
            )
            app = build_application(config)
            started = time.perf_counter()
            await start_application(app, poll_timeout=1)
            start_s = time.perf_counter() - started
            try:
                reminder_service = service.service(app)
                await asyncio.sleep(2)  # the start-up catch-up sweep and plan settle
                store = app.bot_data.store

                async def sweep() -> None:
                    result = await reminder_service.sweep(NOW)
                    assert result.sent == 0

                async def on_the_loop() -> None:
                    due = await asyncio.to_thread(
                        lambda: due_for_groups(
                            store.subscriber_groups(by_cities=False),
                            reminder_service.library.anniversaries(),
                            [],
                            NOW - service.CATCH_UP_LIMIT,
                            NOW,
                        )
                    )
                    messages = await asyncio.to_thread(digests, due)
                    started = time.perf_counter()
                    plan = plan_sweep(
                        messages, store.deliveries.state, NOW
                    )  # the old place: the loop
                    on_the_loop.seconds.append(time.perf_counter() - started)
                    assert not plan.send and len(messages) == subscribers

                on_the_loop.seconds = []
                shipped = [await longest_stall(sweep) for _ in range(turns)]
                peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                before = [await longest_stall(on_the_loop) for _ in range(turns)]
            finally:
                await stop_application(app)
        files = {
            path.name: path.stat().st_size
            for path in sorted(data_dir.iterdir())
            if path.is_file() and not path.name.endswith(".bak") and path.stat().st_size
        }
    return {
        "shipped": shipped,
        "before": before,
        "lookups_on_loop": on_the_loop.seconds,
        "start_s": start_s,
        "files": files,
        "peak_rss_mb": peak_rss_mb,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    with time_machine.travel(NOW, tick=True):
        result = asyncio.run(run(args.subscribers, args.turns))
    shipped = statistics.median(stall for stall, _ in result["shipped"])
    before = statistics.median(stall for stall, _ in result["before"])
    took = statistics.median(seconds for _, seconds in result["shipped"])
    print(f"B6, {args.subscribers:,} subscribers, median of {args.turns} sweeps")
    print(f"  longest event-loop stall during a sweep (shipped):        {shipped * 1000:8.1f} ms")
    print(f"  longest stall, log lookups on the loop (as before):       {before * 1000:8.1f} ms")
    print(
        f"  those lookups alone, on the loop:                         "
        f"{statistics.median(result['lookups_on_loop']) * 1000:8.1f} ms"
    )
    print(f"  the sweep's own duration (worker thread):                 {took * 1000:8.1f} ms")
    print(f"  ratio shipped / before:                                   {shipped / before:8.2f}")
    print(
        f"  start_application (store open, content, menus):           {result['start_s']:8.2f} s"
    )
    for name, size in result["files"].items():
        print(f"  on disk, {name + ':':<49}{size / 1e6:8.1f} MB")
    rss = result["peak_rss_mb"]
    print(f"  peak RSS through the shipped sweeps (bot and emulator):   {rss:8.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
