"""B3, the bot's part: cold start and peak RSS with 100,000 subscribers.

``python bench/b3_cold_start.py`` (``--subscribers 1000000`` for a larger store). Builds a
store of 100,000 subscribers (bench_store's generator), starts the real bot on it in a fresh
process several times against the Bot API emulator (another process), and measures from the
moment the process is spawned to its first ``getUpdates`` as the emulator sees it (content
and subscribers loaded, handlers and menus set up, polling): the bot is ready. It then asks
the bot two questions, lets the start-up jobs (catch-up sweep and reminder planning over
every subscriber) run, stops it, and reports the process's peak RSS. Targets (issue #27):
cold start <= 1.0 s and peak RSS <= 100 MB at 100,000 subscribers (a larger store is held to
the same figures, for information).

The bot's modules are compiled to bytecode first, as the image's are (Dockerfile: compileall
bot), so a shell with PYTHONDONTWRITEBYTECODE does not make each start compile them again
(some 80 ms); ``--from-source`` measures that too.

The bot's clock is set to 3 March 12:00 UTC (time-machine), a moment when no reminder is due,
so the figures do not depend on the day the benchmark runs; a reminder fan-out's memory is
measured by B2. The store's own figures (durable writes/s, open time) are bench_store.py's.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is sys.path[0]

import bench_store
from bench_store import build
from harness import ROOT, TOKEN, Child, machine, peak_rss_mb, show_row, start_emulator

from bot.content.library import content_documents
from bot.content.loading import load_content
from bot.store.repository import Store

TARGET_START_S = 1.0
TARGET_RSS_MB = 100.0
QUIET_MOMENT = datetime(datetime.now(UTC).year, 3, 3, 12, tzinfo=UTC)
"""No anniversary falls on 3, 4 or 10 March: the catch-up sweep has nothing to send."""


def prime(data_dir: Path) -> None:
    """Do what the first start after a restore does once (write the content file), so the
    measured starts are ordinary restarts."""
    store = Store.open(data_dir)
    store.sync_content(content_documents(load_content()))
    store.flush_now()
    store._close()


def one_start(
    number: int, url: str, data_dir: Path, emulator: Child, work: Path, settle: float
) -> dict:
    emulator.request("mark")
    spawned = time.monotonic()
    bot = Child(
        "bot_proc.py",
        [
            "--kind",
            "real",
            "--api-url",
            url,
            "--token",
            TOKEN,
            "--data-dir",
            str(data_dir),
            "--at",
            QUIET_MOMENT.isoformat(),
        ],
        work / f"bot-{number}.log",
    )
    try:
        ready = bot.receive(120)
        first_poll = emulator.request("first_poll")["at"]
        answers = [
            emulator.request("ask", text=text, chat_id=4242, lang=lang)
            for text, lang in (("/start", "en"), ("/prisoner Tuletaeva", "ru"))
        ]
        time.sleep(settle)
        running_rss = peak_rss_mb(bot.pid)
        bot.send({"cmd": "stop"})
        stopped = bot.receive(120)
    finally:
        bot.close()
    return {
        "cold_start_s": first_poll - spawned,
        "timings": ready["timings"],
        "ready_s": ready["timings"]["ready_s"],
        "rss_at_ready_mb": ready["peak_rss_mb"],
        "peak_rss_mb": stopped["peak_rss_mb"],
        "running_rss_mb": running_rss,
        "first_answer_s": answers[0]["seconds"],
        "answers": [a["text"] for a in answers],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="cold starts to measure")
    parser.add_argument(
        "--settle",
        type=float,
        default=8.0,
        help="seconds the bot runs after start before it is stopped",
    )
    parser.add_argument(
        "--subscribers",
        type=int,
        default=bench_store.SUBSCRIBERS,
        help="chats in the store (default %(default)s)",
    )
    parser.add_argument(
        "--from-source",
        action="store_true",
        help="do not compile bot/ to bytecode first (each start compiles what it imports)",
    )
    args = parser.parse_args()
    bench_store.SUBSCRIBERS = args.subscribers  # the size bench_store.build generates
    print(f"B3 cold start - {machine()}")
    if not args.from_source:
        compileall.compile_dir(ROOT / "bot", quiet=1)
        print("  bot/ compiled to bytecode, as in the image (--from-source: not)")
    with tempfile.TemporaryDirectory(prefix="bench-b3-") as temporary:
        work = Path(temporary)
        data_dir = work / "data"
        began = time.monotonic()
        build(data_dir)
        prime(data_dir)
        size = sum(path.stat().st_size for path in data_dir.glob("*.json")) / 1e6
        print(
            f"  store of {args.subscribers:,} subscribers built in "
            f"{time.monotonic() - began:.1f} s ({size:.1f} MB of data files)",
            flush=True,
        )
        emulator, url = start_emulator(work)
        results = []
        try:
            for number in range(args.starts):
                result = one_start(number, url, data_dir, emulator, work, args.settle)
                results.append(result)
                timings = result["timings"]
                print(
                    f"  start {number + 1}: ready in {result['cold_start_s']:.2f} s (imports "
                    f"{timings['imports_s']:.2f}, store {timings['store_open_s']:.2f}, setup "
                    f"{timings['setup_s']:.2f}); peak RSS {result['peak_rss_mb']:.0f} MB (after "
                    f"store open {timings['peak_rss_store_mb']:.0f}, after setup "
                    f"{timings['peak_rss_setup_mb']:.0f})",
                    flush=True,
                )
        finally:
            emulator.close()
    return report(results, args.subscribers)


def report(results: list[dict], subscribers: int) -> int:
    starts = [r["cold_start_s"] for r in results]
    rss = max(r["peak_rss_mb"] for r in results)
    median = statistics.median(starts)

    def phase(key: str) -> float:
        return statistics.median(r["timings"][key] for r in results)

    print("\nResults")
    show_row(
        "cold start to first getUpdates (s), median",
        f"{median:.2f}",
        f"<= {TARGET_START_S:.1f}",
        median <= TARGET_START_S,
    )
    show_row("  slowest start (s)", f"{max(starts):.2f}")
    show_row("  Python imports (s)", f"{phase('imports_s'):.2f}")
    show_row(f"  store open, {subscribers:,} chats (s)", f"{phase('store_open_s'):.2f}")
    show_row("  content, library, handlers, menus (s)", f"{phase('setup_s'):.2f}")
    show_row("  start_application returned (s)", f"{phase('ready_s'):.2f}")
    first_answer = statistics.median(r["first_answer_s"] for r in results)
    show_row("first answer after ready (s)", f"{first_answer:.2f}")
    show_row(
        "peak RSS when start_application returned (MB)",
        f"{max(r['rss_at_ready_mb'] for r in results):.0f}",
    )
    show_row(
        "peak RSS of the bot process (MB)",
        f"{rss:.0f}",
        f"<= {TARGET_RSS_MB:.0f}",
        rss <= TARGET_RSS_MB,
    )
    return 0 if median <= TARGET_START_S and rss <= TARGET_RSS_MB else 1


if __name__ == "__main__":
    sys.exit(main())
