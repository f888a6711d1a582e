"""The fuzz tests of tests/test_fuzz.py at length: 10,000+ hypothesis examples, run by hand.

    .venv/bin/python bench/fuzz_long.py                 # 3 x 3,500 examples
    .venv/bin/python bench/fuzz_long.py --examples 500  # per strategy, for a quick look

Same strategies and checks as the CI tests (no error logged, every request valid, every
button answered, user text escaped, replies in the chat's language), one running bot per
strategy. Prints the figures for the issue's closing note; exits 1 on the first failure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fuzzing import ACTIONS  # noqa: E402
from test_fuzz import FuzzBot, fuzz  # noqa: E402

GROUP_POOL = 64
"""More groups than the CI run: the bot keeps 20 messages a minute per group."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=3500, help="per strategy")
    args = parser.parse_args()
    totals: Counter = Counter()
    kinds: Counter = Counter()
    started = time.monotonic()
    failed = None
    with tempfile.TemporaryDirectory() as folder:
        for name, actions in ACTIONS.items():
            begun = time.monotonic()
            with FuzzBot(Path(folder) / name, group_pool=GROUP_POOL) as bot:
                try:
                    fuzz(bot, actions, args.examples, database=False)
                except BaseException as exc:  # report the figures so far, then the failure
                    failed = f"{name}: {exc}"
                stats = bot.stats
                totals.update(
                    examples=stats.examples,
                    updates=stats.updates,
                    replies=stats.replies,
                    errors=len(bot.errors.records),
                    violations=len(bot.emulator.violations),
                )
                kinds.update(stats.kinds)
            print(
                f"{name:9} {stats.examples:6d} examples {stats.updates:6d} updates "
                f"{stats.replies:6d} replies checked  {time.monotonic() - begun:6.0f} s",
                flush=True,
            )
            if failed:
                break
    print(
        f"total     {totals['examples']:6d} examples {totals['updates']:6d} updates "
        f"{totals['replies']:6d} replies checked  {time.monotonic() - started:6.0f} s"
    )
    print("updates by kind:", ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()))
    print(
        f"unhandled exceptions (error log records): {totals['errors']}; "
        f"invalid requests: {totals['violations']}"
    )
    if failed:
        print(f"FAILED {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
