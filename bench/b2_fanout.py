"""B2, fan-out: ``python bench/b2_fanout.py``.

The 16 December reminder to 100,000 subscribers, sent by the real bot (its own reminder
sweep, ``bot.reminders.service``) over real HTTP to the Bot API emulator, which enforces Telegram's
flood limits and answers 429 with ``retry_after`` when they are exceeded. Each subscriber is
due one message at 10:00 UTC that day (one a day: the massacre; Independence Day, also 16
December, is a dated fact, not a commemoration, so it is not reminded).

The bot process runs on a shifted wall clock that starts just after 10:00 UTC on 16 December
(time-machine), so its catch-up sweep at start finds all 100,000 messages due, as after a
restart at that moment; nothing else about the bot is changed (``build_application`` with
production settings: its one send budget, ``bot/telegram/budget.py``, its HTTP settings). The
emulator counts every message per (chat, text) as it arrives.

Two runs, each on a fresh copy of the same store and a fresh emulator:
- free tier, 30 messages/s (``broadcast_rate`` 30; emulator limit 30/s overall and 20/min per
  group), sampled: the bot is stopped after ``--free-messages`` (default 2,400: 80 s at the
  limit; the whole fan-out would take 1.9 hours);
- paid broadcast, 1,000 messages/s (``broadcast_rate`` 1000 and ``paid_broadcast``, so every
  message carries ``allow_paid_broadcast``; emulator limit 1,000/s for those, counted apart
  from the free 30/s), sampled at ``--paid-messages`` (default 20,000), or ``--full``: all
  100,000, each subscriber checked. Beside it, the ceiling: bare PTB senders doing nothing
  but ``send_message`` against the same emulator, in the same run (target: the bot's paid
  rate >= 0.9 of one bare sender).
``--restart-after N`` stops the bot after N paid messages and starts it again on the same
store, as a deploy in the middle of 16 December would.
Measured: sustained rate (messages the emulator accepted, first to last, per run of the bot)
as a share of the limit, 429 answers, (chat, text) pairs delivered twice, the delivery log's
sent/failed/in-doubt rows when the bot stopped, subscribers missed (``--full``), peak RSS.
Targets: >= 95% of the limit, no 429 at the default limit, every subscriber exactly once.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is sys.path[0]

from bench_store import random_chat
from harness import TOKEN, Child, cpu_seconds, machine, show_row, start_emulator

from bot.store.repository import Store
from bot.store.snapshots import SNAPSHOT_FORMAT, SNAPSHOT_VERSION
from bot.store.snapshots import restore as restore_snapshot

TARGET_SHARE = 0.95
CEILING_SHARE = 0.9
"""Paid, as shipped: at least this share of one bare PTB sender's rate on the same machine."""
FREE_RATE = 30.0
PAID_RATE = 1000.0
WINTER_UTC_ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Dublin",
    "Atlantic/Reykjavik",
    "Africa/Abidjan",
]
"""Zones at UTC+0 in December: their 10:00 is the same instant, so everyone is due at once."""


def next_sixteenth_december() -> date:
    today = datetime.now(UTC).date()
    this_year = date(today.year, 12, 16)
    return this_year if today < this_year else date(today.year + 1, 12, 16)


def build_store(data_dir: Path, subscribers: int) -> list[int]:
    """``subscribers`` chats due at 10:00 UTC (bench_store's mix otherwise); returns ids."""
    rng = random.Random(1216)
    chats = []
    for number in range(subscribers):
        chat = random_chat(1_000_000 + number, rng)
        chat.update(timezone=rng.choice(WINTER_UTC_ZONES), hour=10, subscribed=True)
        if 0 not in chat["leads"]:
            chat["leads"] = [*chat["leads"], 0]
        chats.append(chat)
    snapshot = data_dir.parent / "seed.json"
    snapshot.write_text(
        json.dumps(
            {
                "format": SNAPSHOT_FORMAT,
                "version": SNAPSHOT_VERSION,
                "chats": chats,
                "deliveries": {},
                "events": [],
                "meta": {},
            }
        )
    )
    restore_snapshot(data_dir, snapshot)
    snapshot.unlink()
    return [chat["chat_id"] for chat in chats]


def seed_subscribers(
    work: Path, data_dir: Path, subscribers: int, day: date, due: str
) -> tuple[list[int], int]:
    """The bench store in ``data_dir``, the chat ids in ``work/expected.json`` (the emulator
    checks against them), and one line saying what falls due: (ids, reminders per chat)."""
    began = time.monotonic()
    ids = build_store(data_dir, subscribers)
    (work / "expected.json").write_text(json.dumps(ids))
    per_chat = expected_per_chat(data_dir, day)
    took = time.monotonic() - began
    print(
        f"  {len(ids):,} subscribers, {per_chat} reminders each at {due} "
        f"UTC: {per_chat * len(ids):,} messages (store built in {took:.1f} s)",
        flush=True,
    )
    return ids, per_chat


def expected_per_chat(data_dir: Path, day: date) -> int:
    """How many messages each subscriber is due at 10:00 on ``day``, from the bot's rules
    (one a day, whatever it carries)."""
    from bot.content.loading import load_content
    from bot.reminders.schedule import digests, due_between

    store = Store.open(data_dir, read_only=True)
    moment = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    cards = [card for card in load_content().cards.values() if card.kind == "anniversary"]
    sample = store.subscribers()[:200]
    counts = {
        len(digests(due_between([chat], cards, [], moment.replace(hour=9), moment)))
        for chat in sample
    }
    if len(counts) != 1:
        raise SystemExit(f"subscribers are due different numbers of reminders: {counts}")
    return counts.pop()


def fan_out(
    name: str,
    work: Path,
    seed_dir: Path,
    args: argparse.Namespace,
    *,
    rate: float,
    paid: bool,
    goals: list[int],
    per_chat: int,
    at: datetime,
) -> dict:
    """One fan-out on a fresh copy of the store, the bot stopped when the emulator has seen
    each of ``goals`` messages (and started again between them); returns the figures."""
    data_dir = work / f"data-{name}"
    shutil.copytree(seed_dir, data_dir)
    emulator, url = start_emulator(work, "--seed", "1")
    arguments = [
        "--kind",
        "real",
        "--api-url",
        url,
        "--token",
        TOKEN,
        "--data-dir",
        str(data_dir),
        "--rate",
        str(rate),
        "--at",
        at.isoformat(),
        *(["--paid"] if paid else []),
    ]
    segments, stalled, cpu, peak_rss, readiness = [], False, 0.0, 0.0, []
    try:
        emulator.request(
            "rate_limit",
            global_per_second=FREE_RATE,
            per_group_per_minute=20,
            paid_per_second=PAID_RATE,
        )
        emulator.request("track")
        for number, goal in enumerate(goals):
            began = time.monotonic()
            bot = Child("bot_proc.py", arguments, work / f"bot-{name}-{number}.log")
            try:
                ready = bot.receive(300)
                readiness.append(time.monotonic() - began)
                print(
                    f"  {name}: bot {'re' if number else ''}started, ready in "
                    f"{readiness[-1]:.1f} s ({ready['timings']['chats']:,} chats)",
                    flush=True,
                )
                cpu_before = cpu_seconds(bot.pid) or 0.0
                stalled = wait_for_messages(emulator, goal, args.stall)
                cpu += (cpu_seconds(bot.pid) or 0.0) - cpu_before
                bot.send({"cmd": "stop"})
                stopped = bot.receive(300)
            finally:
                bot.close()
            peak_rss = max(peak_rss, stopped["peak_rss_mb"])
            segments.append(emulator.request("count")["messages"])
            if stalled:
                break
        summary = emulator.request(
            "summary",
            timeout=300,
            expected=str(work / "expected.json"),
            per_chat=per_chat,
            cuts=segments,
        )
        summary["emulator"] = emulator.request("stats")
    finally:
        emulator.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    sending = sum(last - first for first, last, _ in summary["spans"])
    summary.update(
        rate=rate,
        goal=goals[-1],
        stalled=stalled,
        peak_rss_mb=peak_rss,
        ready_s=readiness,
        delivery_counts=stopped["delivery_counts"],
        restarts=len(segments) - 1,
        sustained=(summary["messages"] - len(segments)) / sending if sending else 0.0,
        bot_cpu=cpu / sending if sending else None,
    )
    return summary


def bare_ceiling(
    work: Path, messages: int, args: argparse.Namespace, processes: int = 1
) -> tuple[float, float]:
    """Messages/s bare PTB Bots reach together against the same emulator (``processes`` of
    them, each sending ``messages``): this machine's ceiling; and their CPU seconds per
    message, to set beside the bot's."""
    emulator, url = start_emulator(work, "--seed", "1")
    senders = []
    try:
        emulator.request(
            "rate_limit",
            global_per_second=FREE_RATE,
            per_group_per_minute=20,
            paid_per_second=PAID_RATE,
        )
        emulator.request("track")
        for number in range(processes):
            senders.append(
                Child(
                    "bot_proc.py",
                    [
                        "--kind",
                        "sender",
                        "--api-url",
                        url,
                        "--token",
                        TOKEN,
                        "--messages",
                        str(messages),
                        "--first-chat",
                        str(3_000_000 + number * messages),
                        "--workers",
                        str(args.ceiling_workers),
                        *(["--pool", str(args.pool)] if args.pool else []),
                        *(["--json-body"] if args.json_body else []),
                    ],
                    work / f"sender-{number}.log",
                )
            )
        ready = [sender.receive(120)["cpu_s"] for sender in senders]
        stopped = [sender.receive(600)["cpu_s"] for sender in senders]
        summary = emulator.request("summary", timeout=120, expected=None, per_chat=1)
    finally:
        for sender in senders:
            sender.close()
        emulator.close()
    cpu = sum(end - start for start, end in zip(ready, stopped, strict=True))
    return (summary["messages"] - 1) / (summary["last"] - summary["first"]), cpu / (
        messages * processes
    )


def wait_for_messages(emulator: Child, goal: int, stall: float) -> bool:
    """Wait until the emulator has recorded ``goal`` messages; True if they stopped coming."""
    last_count, last_change = -1, time.monotonic()
    while True:
        time.sleep(0.5)
        count = emulator.request("count")["messages"]
        if count != last_count:
            if count // 20_000 != max(last_count, 0) // 20_000 or count >= goal:
                print(f"    {count:,} messages", flush=True)
            last_count, last_change = count, time.monotonic()
        if count >= goal:
            return False
        if time.monotonic() - last_change > stall:
            return True


def report(name: str, result: dict, limit: float, *, complete: bool) -> bool:
    share = result["sustained"] / limit
    windows = result["windows"][1:-1] or result["windows"]
    log = result["delivery_counts"] or {}
    doubtful = log.get("pending", 0) + log.get("uncertain", 0)
    restarts = f", bot restarted {result['restarts']}x" if result["restarts"] else ""
    print(
        f"\n{name}: {result['messages']:,} messages to {result['chats']:,} chats in "
        f"{result['last'] - result['first']:.1f} s{restarts}"
    )
    show_row("sustained rate (messages/s)", f"{result['sustained']:,.1f}")
    show_row("share of the limit", f"{share:.3f}", f">= {TARGET_SHARE}", share >= TARGET_SHARE)
    if windows:
        show_row(
            "slowest / fastest 10 s window (msg/s)", f"{min(windows):,.0f} / {max(windows):,.0f}"
        )
    show_row(
        "429 answers provoked",
        f"{result['too_many_requests']:,}",
        "0" if limit == FREE_RATE else "",
        result["too_many_requests"] == 0 if limit == FREE_RATE else None,
    )
    show_row(
        "(chat, message) pairs sent twice",
        f"{result['duplicated_pairs']:,}",
        "0",
        result["duplicated_pairs"] == 0,
    )
    show_row(
        "delivery log: sent / failed / in doubt",
        f"{log.get('sent', 0):,} / {log.get('failed', 0):,} / {doubtful:,}",
    )
    ok = share >= TARGET_SHARE and result["duplicated_pairs"] == 0 and not doubtful
    if limit == FREE_RATE:
        ok = ok and result["too_many_requests"] == 0
    if complete:
        reached = (
            result["missing_chats"] == 0
            and result["short_chats"] == 0
            and result["unexpected_chats"] == 0
            and not result["stalled"]
        )
        show_row(
            "subscribers missed / short / unexpected",
            f"{result['missing_chats']:,} / {result['short_chats']:,} / "
            f"{result['unexpected_chats']:,}",
            "0",
            reached,
        )
        ok = ok and reached
    show_row("bot peak RSS (MB)", f"{result['peak_rss_mb']:.0f}")
    if result["bot_cpu"] is not None:
        show_row("bot CPU while sending (share of a core)", f"{result['bot_cpu']:.0%}")
    show_row("emulator peak RSS (MB)", f"{result['emulator']['peak_rss_mb']:.0f}")
    if result["violation_count"]:
        show_row("requests the Bot API would reject", f"{result['violation_count']}", "0", False)
        print("   ", result["violations"])
        ok = False
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument(
        "--free-messages",
        type=int,
        default=2_400,
        help="messages sampled at 30/s (0: the whole fan-out, ~2 hours)",
    )
    parser.add_argument(
        "--paid-messages",
        type=int,
        default=20_000,
        help="messages sampled at 1,000/s unless --full",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="send the whole paid fan-out and check every subscriber",
    )
    parser.add_argument(
        "--restart-after",
        type=int,
        default=0,
        help="stop and restart the bot after this many paid messages",
    )
    parser.add_argument(
        "--ceiling-processes",
        type=int,
        default=1,
        help="also measure this many bare senders sending at once",
    )
    parser.add_argument(
        "--ceiling",
        type=int,
        default=10_000,
        help="messages a bare PTB sender sends after the paid run, to show "
        "this machine's ceiling (0: skip)",
    )
    parser.add_argument(
        "--ceiling-workers", type=int, default=64, help="messages each bare sender keeps in flight"
    )
    parser.add_argument(
        "--ceiling-only",
        action="store_true",
        help="measure only the bare senders (with --ceiling)",
    )
    parser.add_argument("--skip-free", action="store_true")
    parser.add_argument("--skip-paid", action="store_true")
    parser.add_argument(
        "--free-rate",
        type=float,
        default=FREE_RATE,
        help="the bot's broadcast_rate in the free run (the limit stays 30/s)",
    )
    parser.add_argument(
        "--paid-rate",
        type=float,
        default=PAID_RATE,
        help="the bot's broadcast_rate in the paid run (the limit stays 1000/s)",
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=0,
        help="the bare sender's HTTP connection pool size (PTB: 256)",
    )
    parser.add_argument(
        "--json-body",
        action="store_true",
        help="the bare sender posts JSON bodies as the bot does (bot/telegram/transport.py)",
    )
    parser.add_argument(
        "--stall",
        type=float,
        default=60.0,
        help="give up after this many seconds without a message",
    )
    args = parser.parse_args()
    day = next_sixteenth_december()
    at = datetime(day.year, day.month, day.day, 10, 0, 5, tzinfo=UTC)
    print(f"B2 fan-out - {machine()}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-b2-") as temporary:
        work = Path(temporary)
        seed_dir = work / "seed"
        ids, per_chat = seed_subscribers(
            work, seed_dir, args.subscribers, day, f"{at:%Y-%m-%d} 10:00"
        )
        expected = per_chat * len(ids)
        if not args.skip_free and not args.ceiling_only:
            free = fan_out(
                "free",
                work,
                seed_dir,
                args,
                rate=args.free_rate,
                paid=False,
                goals=[min(args.free_messages or expected, expected)],
                per_chat=per_chat,
                at=at,
            )
            ok &= report(
                f"Free tier, {FREE_RATE:.0f}/s"
                + (f" (first {free['goal']:,} messages)" if free["goal"] < expected else ""),
                free,
                FREE_RATE,
                complete=free["goal"] >= expected,
            )
        if args.ceiling_only:
            show_row(
                "bare PTB sender, same emulator (msg/s)",
                f"{bare_ceiling(work, args.ceiling, args)[0]:,.1f}",
            )
        elif not args.skip_paid:
            goal = expected if args.full else min(args.paid_messages, expected)
            goals = [n for n in (args.restart_after,) if 0 < n < goal] + [goal]
            paid = fan_out(
                "paid",
                work,
                seed_dir,
                args,
                rate=args.paid_rate,
                paid=True,
                goals=goals,
                per_chat=per_chat,
                at=at,
            )
            ok &= report(
                f"Paid broadcast, {PAID_RATE:,.0f}/s"
                + (" (whole fan-out)" if goal >= expected else f" (first {goal:,} messages)"),
                paid,
                PAID_RATE,
                complete=goal >= expected,
            )
            if args.ceiling:
                ceiling, bare_cpu = bare_ceiling(work, args.ceiling, args)
                show_row("bare PTB sender, same emulator (msg/s)", f"{ceiling:,.1f}")
                if paid["bot_cpu"] is not None:
                    bot_ms = paid["bot_cpu"] / paid["sustained"] * 1000
                    show_row(
                        "CPU per message, bot / bare sender (ms)",
                        f"{bot_ms:.2f} / {bare_cpu * 1000:.2f}",
                    )
                share = paid["sustained"] / ceiling
                show_row(
                    "bot's paid rate / bare sender's",
                    f"{share:.2f}",
                    f">= {CEILING_SHARE}",
                    share >= CEILING_SHARE,
                )
                if args.ceiling_processes > 1:
                    together, _ = bare_ceiling(work, args.ceiling, args, args.ceiling_processes)
                    show_row(
                        f"{args.ceiling_processes} bare senders at once (msg/s)",
                        f"{together:,.1f}",
                    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
