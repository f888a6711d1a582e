"""Store benchmark for the "performance" issue (B3): ``python bench/bench_store.py``.

Builds a store with 100,000 subscribers in a temporary directory, then, in a fresh process
(so the figures are not flattered by the set-up), measures: cold open time, durable
subscribe/unsubscribe/settings writes per second from 1,000 concurrent coroutines, a
one-writer figure for comparison, a 100,000-row delivery-log write, and peak RSS.
Targets: >= 500 writes/s, open <= ~1 s, peak RSS <= 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store.models import ChatSettings
from bot.store.repository import Store
from bot.store.snapshots import SNAPSHOT_FORMAT, SNAPSHOT_VERSION
from bot.store.snapshots import restore as restore_snapshot

SUBSCRIBERS = 100_000
TARGET_WRITES = 500.0
TARGET_OPEN = 1.0
TARGET_RSS_MB = 150.0
ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Asia/Almaty",
    "Asia/Aqtau",
    "Europe/Moscow",
    "America/New_York",
    "Europe/Paris",
    "Asia/Tbilisi",
    "Europe/Kyiv",
]
CITIES = ["Berlin", "London", "Paris", "Almaty", "Tbilisi", "Warsaw", "Vilnius", "Kyiv"]


def random_chat(chat_id: int, rng: random.Random) -> dict:
    group = rng.random() < 0.1
    return {
        "chat_id": -1_000_000_000_000 - chat_id if group else chat_id,
        "chat_type": "supergroup" if group else "private",
        "language": rng.choice(["en", "ru", None]),
        "timezone": rng.choice(ZONES),
        "hour": rng.randrange(24),
        "subscribed": True,
        "topics": rng.choice(["all", "all", "dec16"]),
        "cities": rng.sample(CITIES, rng.choice([0, 0, 1, 2])),
        "leads": rng.choice([[7, 1, 0], [1, 0], [0]]),
    }


def build(data_dir: Path) -> float:
    """Create the 100k-subscriber store through a snapshot restore; return seconds taken."""
    rng = random.Random(1216)
    snapshot = data_dir.parent / "seed.json"
    chats = [random_chat(1_000_000 + n, rng) for n in range(SUBSCRIBERS)]
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
    started = time.perf_counter()
    restore_snapshot(data_dir, snapshot)
    return time.perf_counter() - started


async def load(store: Store, ids: list[int], seconds: float, concurrency: int) -> float:
    """Durable writes per second from ``concurrency`` coroutines changing random chats."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def user(rng: random.Random) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            chat_id = rng.choice(ids)
            current = store.chat(chat_id) or ChatSettings(chat_id)
            change = rng.random()
            if change < 0.4:
                new = dataclasses.replace(current, subscribed=not current.subscribed)
            elif change < 0.7:
                new = dataclasses.replace(current, hour=rng.randrange(24))
            else:
                new = dataclasses.replace(
                    current, timezone=rng.choice(ZONES), language=rng.choice(["en", "ru"])
                )
            await store.put_chat(new)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(user(random.Random(n)) for n in range(concurrency)))
    return done / (time.perf_counter() - started)


async def child(data_dir: Path, seconds: float, concurrency: int) -> dict:
    started = time.perf_counter()
    store = Store.open(data_dir)
    open_s = time.perf_counter() - started
    ids = [chat.chat_id for chat in store.all_chats()]
    flushes = store.flush_count
    concurrent = await load(store, ids, seconds, concurrency)
    flushes = store.flush_count - flushes
    single = await load(store, ids, 2.0, 1)
    started = time.perf_counter()
    subscribers = store.subscribers()
    subscribers_s = time.perf_counter() - started
    started = time.perf_counter()
    await store.deliveries.set(
        [("bench:2025-12-16:0", chat.chat_id, "pending") for chat in subscribers]
    )
    await store.deliveries.set(
        [("bench:2025-12-16:0", chat.chat_id, "sent") for chat in subscribers[:1000]]
    )
    deliveries_s = time.perf_counter() - started
    count = store.chat_count()
    del subscribers
    await store.aclose()
    return {
        "chats": count,
        "open_s": open_s,
        "writes_per_s": concurrent,
        "flushes": flushes,
        "single_writer_per_s": single,
        "subscribers_s": subscribers_s,
        "deliveries_100k_s": deliveries_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run(arguments: list[str]) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, *arguments], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        print(json.dumps({"build_s": build(args.build)}))
        return 0
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.seconds, args.concurrency))))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-store-") as temporary:
        data_dir = Path(temporary) / "data"
        print(f"building {SUBSCRIBERS:,} subscribers ...", flush=True)
        # Each phase runs in its own process: ru_maxrss survives fork and exec, so a child of
        # a big parent would report the parent's peak.
        build_s = _run(["--build", str(data_dir)])["build_s"]
        size = (data_dir / "chats.json").stat().st_size / 1e6
        print(f"  restore of the seed snapshot: {build_s:.2f} s; chats.json {size:.1f} MB")
        print(
            f"measuring in a fresh process ({args.concurrency} coroutines, "
            f"{args.seconds:.0f} s) ...",
            flush=True,
        )
        r = _run(
            [
                "--child",
                str(data_dir),
                "--seconds",
                str(args.seconds),
                "--concurrency",
                str(args.concurrency),
            ]
        )
    checks = [
        (
            f"durable writes/s ({args.concurrency} concurrent users)",
            r["writes_per_s"],
            f">= {TARGET_WRITES:.0f}",
            r["writes_per_s"] >= TARGET_WRITES,
            "{:,.0f}",
        ),
        (
            "cold open (s)",
            r["open_s"],
            f"<= {TARGET_OPEN:.1f}",
            r["open_s"] <= TARGET_OPEN,
            "{:.3f}",
        ),
        (
            "peak RSS (MB)",
            r["peak_rss_mb"],
            f"<= {TARGET_RSS_MB:.0f}",
            r["peak_rss_mb"] <= TARGET_RSS_MB,
            "{:.1f}",
        ),
    ]
    print(
        f"  chats in store: {r['chats']:,}; flushes during the load: {r['flushes']:,} "
        f"(~{r['writes_per_s'] * args.seconds / max(r['flushes'], 1):.0f} writes per flush)"
    )
    print(f"  one writer alone: {r['single_writer_per_s']:,.0f} durable writes/s")
    print(
        f"  subscribers(): {r['subscribers_s']:.3f} s; 100k-row delivery log + 1k updates: "
        f"{r['deliveries_100k_s']:.3f} s"
    )
    for name, value, target, ok, fmt in checks:
        print(
            f"  {name:48} {fmt.format(value):>10}  target {target:>7}  "
            f"{'MET' if ok else 'NOT MET'}"
        )
    return 0 if all(ok for *_, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
