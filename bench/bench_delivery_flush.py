"""What one delivery-log commit costs at 100,000 rows: ``python bench/bench_delivery_flush.py``.

A fan-out's commits each change a few hundred rows of one big occurrence. This logs 100,000
chats "pending" for one occurrence, then times ``--commits`` commits of ``--batch`` rows
each ("sent"), one after another as the fan-out's recorder does, and reports per commit the
bytes the process wrote (``wchar`` of ``/proc/self/io``), its CPU time (every thread,
``getrusage``) and the wall time. The data dir is a temporary one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store.repository import Store

OCCURRENCE = "bench:2025-12-16:0"


def written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise RuntimeError("no wchar in /proc/self/io")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(data_dir: Path, rows: int, batch: int, commits: int) -> dict:
    store = Store.open(data_dir)
    chats = list(range(1_000_000, 1_000_000 + rows))
    await store.deliveries.set([(OCCURRENCE, chat, "pending") for chat in chats])
    per_bytes, per_cpu, per_wall = [], [], []
    for n in range(commits):
        changed = [(OCCURRENCE, chat, "sent") for chat in chats[n * batch : (n + 1) * batch]]
        before_bytes, before_cpu, before_wall = written(), cpu(), time.perf_counter()
        await store.deliveries.set(changed)
        per_wall.append(time.perf_counter() - before_wall)
        per_cpu.append(cpu() - before_cpu)
        per_bytes.append(written() - before_bytes)
    await store.aclose()
    reopened = Store.open(data_dir)
    got = reopened.deliveries.rows(OCCURRENCE)
    assert len(got) == rows and sum(s == "sent" for s in got.values()) == batch * commits
    reopened._close()
    return {
        "rows": rows,
        "batch": batch,
        "commits": commits,
        "bytes_per_commit_median": statistics.median(per_bytes),
        "bytes_per_commit_mean": statistics.mean(per_bytes),
        "bytes_per_commit_max": max(per_bytes),
        "cpu_ms_per_commit_mean": 1000 * statistics.mean(per_cpu),
        "wall_ms_per_commit_median": 1000 * statistics.median(per_wall),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=300)
    parser.add_argument("--commits", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-flush-") as temporary:
        data_dir = Path(temporary) / "data"
        result = asyncio.run(measure(data_dir, args.rows, args.batch, args.commits))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
