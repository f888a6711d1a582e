"""B4, the day itself: ``python bench/b4_day.py``.

16 December at 10:00: 100,000 subscribers are due their reminders, and meanwhile people who
hear of the anniversary open the bot. The real bot (``build_application``, production
settings: the default send budget of 30 messages/s, 20/min per group) runs against the Bot
API emulator, which enforces Telegram's flood limits and answers 429 when they are exceeded.
Subscribers are seeded as in B2 (``b2_fanout.build_store``).

The bot's wall clock starts a little before 10:00 UTC on 16 December (time-machine,
ticking), so the reminder sweep fires on its own, as it would on the day. First, before
10:00, simulated people send commands at 5, 10 and 20 a second, each from a chat that never
wrote before (open loop), for ``--idle-seconds`` each, after a few seconds of warm-up: the
*idle* latency. Then, once the
fan-out is under way, the same rates for ``--window`` seconds each: the latency *during the
fan-out*. Latency runs from the update being queued in the emulator to the bot's answer
being recorded there. For each window: the fan-out's rate, the replies' rate, the total send
rate and the busiest one-second window the emulator saw, and 429 answers.

The whole fan-out (one message per subscriber and day: 100,000 messages at 29/s) takes
about an hour, so by default B4 measures windows of it and checks exactly-once over what was
sent (no (chat, text) pair twice; every "sent" row of the delivery log matches a message the
emulator got; nothing "pending" or "uncertain" after a clean stop). ``--full`` lets it finish
and checks every subscriber.

Targets: reply p95 during the fan-out <= max(0.25 s, 3 x idle p95) at each rate; total sends
>= 0.95 x the budget while the fan-out runs, and never above it (busiest second <= 30); no
429 at the default budget; every subscriber reached exactly once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is sys.path[0]

from b2_fanout import next_sixteenth_december, seed_subscribers, wait_for_messages
from emulator_proc import PEOPLE_FROM
from harness import TOKEN, Child, machine, show_row, start_emulator

BUDGET = 30.0
TOTAL_SHARE = 0.95
LATENCY_FLOOR = 0.25


def people(emulator: Child, rate: float, seconds: float, block: int) -> dict:
    return emulator.request(
        "people",
        timeout=seconds + 90,
        rate=rate,
        seconds=seconds,
        first_chat=PEOPLE_FROM + block * 100_000,
        seed=block,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--rates", default="5,10,20", help="commands a second, comma-separated")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=20.0,
        help="seconds of commands per rate before 10:00",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=60.0,
        help="seconds of commands per rate during the fan-out",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="let the whole fan-out finish and check every subscriber",
    )
    parser.add_argument(
        "--stall",
        type=float,
        default=120.0,
        help="with --full: give up after this many seconds without a message",
    )
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]
    day = next_sixteenth_december()
    due = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    idle_total = len(rates) * (args.idle_seconds + 2) + 6
    at = due - timedelta(seconds=idle_total + 45)
    print(f"B4 the day itself - {machine()}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-b4-") as temporary:
        work = Path(temporary)
        data_dir = work / "data"
        ids, per_chat = seed_subscribers(
            work, data_dir, args.subscribers, day, f"{due:%Y-%m-%d %H:%M}"
        )
        expected = per_chat * len(ids)
        emulator, url = start_emulator(work, "--seed", "1")
        bot = None
        try:
            emulator.request("rate_limit", global_per_second=BUDGET, per_group_per_minute=20)
            emulator.request("track")
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
                    at.isoformat(),
                ],
                work / "bot.log",
            )
            bot.receive(300)
            print(
                f"  bot ready; its clock reaches 10:00 in about {idle_total + 45:.0f} s "
                "after it started",
                flush=True,
            )
            people(emulator, 5, 4, 99)  # warm-up: the first answers build caches
            idle = {}
            for block, rate in enumerate(rates):
                idle[rate] = people(emulator, rate, args.idle_seconds, block)
                print(f"  idle, {rate:g}/s: p95 {idle[rate]['p95_s']:.3f} s", flush=True)
                if idle[rate]["fan_out_per_s"]:
                    print("    (the fan-out had already begun: this is not idle)")
            deadline = time.monotonic() + 300
            while emulator.request("count")["messages"] < 20:
                if time.monotonic() > deadline:
                    raise SystemExit("the fan-out did not begin")
                time.sleep(0.5)
            print("  the fan-out is under way", flush=True)
            during = {}
            for block, rate in enumerate(rates, start=len(rates)):
                during[rate] = people(emulator, rate, args.window, block)
                d = during[rate]
                print(
                    f"  during the fan-out, {rate:g}/s: p95 {d['p95_s']:.3f} s, fan-out "
                    f"{d['fan_out_per_s']:.1f}/s, total {d['total_per_s']:.1f}/s",
                    flush=True,
                )
            stalled = False
            if args.full:
                stalled = wait_for_messages(emulator, expected, args.stall)
            bot.send({"cmd": "stop"})
            stopped = bot.receive(600)
            summary = emulator.request(
                "summary", timeout=300, expected=str(work / "expected.json"), per_chat=per_chat
            )
        finally:
            if bot is not None:
                bot.close()
            emulator.close()

    print(
        f"\nReplies (commands from distinct chats; latency from update queued to answer "
        f"recorded), budget {BUDGET:.0f} messages/s"
    )
    for rate in rates:
        i, d = idle[rate], during[rate]
        bound = max(LATENCY_FLOOR, 3 * i["p95_s"])
        met = d["p95_s"] is not None and d["p95_s"] <= bound and not d["timeouts"]
        ok &= met
        show_row(
            f"{rate:g}/s idle: p50 / p95 / p99 (s)",
            f"{i['p50_s']:.3f} / {i['p95_s']:.3f} / {i['p99_s']:.3f}",
        )
        show_row(
            f"{rate:g}/s during: p50 / p95 / p99 (s)",
            f"{d['p50_s']:.3f} / {d['p95_s']:.3f} / {d['p99_s']:.3f}",
            f"p95 <= {bound:.3f}",
            met,
        )
        total_ok = d["total_per_s"] >= TOTAL_SHARE * BUDGET and d["busiest_second"] <= BUDGET
        ok &= total_ok
        show_row(
            f"{rate:g}/s during: fan-out / replies / total (msg/s)",
            f"{d['fan_out_per_s']:.1f} / {d['replies_per_s']:.1f} / {d['total_per_s']:.1f}",
            f">= {TOTAL_SHARE * BUDGET:.1f}",
            total_ok,
        )
        show_row(
            f"{rate:g}/s during: busiest second (messages)",
            f"{d['busiest_second']}",
            f"<= {BUDGET:.0f}",
            d["busiest_second"] <= BUDGET,
        )
        if d["timeouts"] or i["timeouts"]:
            show_row(
                f"{rate:g}/s: commands unanswered in 30 s",
                f"{i['timeouts']} idle, {d['timeouts']} during",
                "0",
                False,
            )
    log = stopped["delivery_counts"] or {}
    doubtful = log.get("pending", 0) + log.get("uncertain", 0)
    print(
        f"\nFan-out: {summary['messages']:,} messages to {summary['chats']:,} chats"
        + ("" if args.full else " (a window of it: --full sends all)")
    )
    show_row(
        "429 answers provoked",
        f"{summary['too_many_requests']:,}",
        "0",
        summary["too_many_requests"] == 0,
    )
    show_row(
        "(chat, message) pairs sent twice",
        f"{summary['duplicated_pairs']:,}",
        "0",
        summary["duplicated_pairs"] == 0,
    )
    matches = log.get("sent", 0) == summary["messages"]
    show_row(
        "delivery log sent / emulator got",
        f"{log.get('sent', 0):,} / {summary['messages']:,}",
        "equal",
        matches,
    )
    show_row(
        "delivery log failed / in doubt",
        f"{log.get('failed', 0):,} / {doubtful:,}",
        "0 / 0",
        not doubtful and not log.get("failed"),
    )
    ok &= (
        summary["too_many_requests"] == 0
        and summary["duplicated_pairs"] == 0
        and matches
        and not doubtful
    )
    if args.full:
        reached = (
            summary["missing_chats"] == 0
            and summary["short_chats"] == 0
            and summary["unexpected_chats"] == 0
            and not stalled
        )
        show_row(
            "subscribers missed / short / unexpected",
            f"{summary['missing_chats']:,} / {summary['short_chats']:,} / "
            f"{summary['unexpected_chats']:,}",
            "0",
            reached,
        )
        ok &= reached
    else:
        show_row(
            "subscribers outside the store reached",
            f"{summary['unexpected_chats']:,}",
            "0",
            summary["unexpected_chats"] == 0,
        )
        ok &= summary["unexpected_chats"] == 0
    show_row("bot peak RSS (MB)", f"{stopped['peak_rss_mb']:.0f}")
    if summary["violation_count"]:
        show_row("requests the Bot API would reject", f"{summary['violation_count']}", "0", False)
        print("   ", summary["violations"])
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
