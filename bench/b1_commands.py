"""B1, command handling: ``python bench/b1_commands.py``.

The real bot (``build_application`` + ``start_application``) and a bare python-telegram-bot
echo bot take turns against the same Bot API emulator over real HTTP on 127.0.0.1; each runs
in its own process, the emulator and its simulated users in another. Many simulated users,
each waiting for the answer before acting again (closed loop), send a mix of ``/prisoner
NAME``, ``/anniversaries``, presses of the card and list buttons under the bot's last answer,
and inline queries. Measured per bot: answered updates per second, and latency from the
update being queued in the emulator to the bot's answer being recorded there (p50, p99).
Target: the real bot handles at least 0.8 of the echo bot's throughput.

Three bots take turns: the real bot exactly as shipped; the *echo* bot, PTB's defaults
except the real bot's update concurrency and HTML parse mode (a sequential echo bot would be
a straw man), the figure B1 has always reported; and the *fair* echo bot, which also has the
real bot's HTTP settings (``bot.telegram.transport.request_for``: JSON bodies, 16
connections) and its send budget (``bot.telegram.budget.SendBudget``).
The echo bots answer each message with the text
and two buttons, each button press with answerCallbackQuery and an edit, each inline query
with one article. Both the real and the fair bot run with a send budget of ``--send-rate``
(10,000 messages/s: the setting ``BOT_SEND_RATE``), so that B1 measures handling and not
Telegram's 30 messages/s, which would cap both alike; B4 measures the budget itself.
``--pool N`` and ``--json-body`` try HTTP settings on the plain echo bot; ``--profile TOP``
samples each bot with py-spy. CPU figures come from /proc (Linux); "CPU per update" is
the bot process's CPU time divided by the updates it answered, which stays meaningful when
the emulator is the bottleneck. Alternating turns make the ratio robust to a machine whose
speed drifts.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is sys.path[0]

from harness import TOKEN, Child, cpu_seconds, machine, show_row, start_emulator

TARGET_RATIO = 0.8
PROFILES = Path(tempfile.gettempdir()) / "bench-b1-profiles"
KINDS = ("real", "echo", "fair")
SEND_RATE = 10_000.0


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        mix[name.strip()] = float(weight)
    unknown = set(mix) - {"prisoner", "anniversaries", "callback", "inline"}
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown actions in the mix: {sorted(unknown)}")
    return mix


def one_round(
    kind: str, number: int, url: str, emulator: Child, work: Path, args: argparse.Namespace
) -> dict:
    arguments = [
        "--kind",
        "real" if kind == "real" else "echo",
        "--api-url",
        url,
        "--token",
        TOKEN,
        "--poll-timeout",
        "1",
        "--send-rate",
        str(args.send_rate),
        "--data-dir",
        str(work / f"data-{kind}-{number}"),
    ]
    if kind == "fair":
        arguments.append("--fair")
    if kind == "echo" and args.pool:
        arguments += ["--pool", str(args.pool)]
    if kind == "echo" and args.json_body:
        arguments.append("--json-body")
    bot = Child("bot_proc.py", arguments, work / f"bot-{kind}-{number}.log")
    try:
        bot.receive(120)
        profile = PROFILES / f"{kind}-{number}.txt"
        profiler = start_profiler(bot.pid, profile, args)
        cpu_before = cpu_seconds(bot.pid)
        result = emulator.request(
            "load",
            timeout=args.warmup + args.seconds + 120,
            users=args.users,
            seconds=args.seconds,
            warmup=args.warmup,
            seed=number,
            mix=args.mix,
        )
        cpu = (cpu_seconds(bot.pid) or 0) - (cpu_before or 0)
        if profiler is not None:
            profiler.wait(60)
            summarise_profile(profile, kind, args.profile)
        bot.send({"cmd": "stop"})
        bot.receive(60)
    finally:
        bot.close()
        emulator.request("reset")
    result["bot_cpu_ms_per_update"] = 1000 * cpu / max(result["completed"], 1)
    result["bot_cpu"] = cpu / (args.warmup + args.seconds)
    return result


def start_profiler(pid: int, output: Path, args: argparse.Namespace):
    """py-spy on the bot process for the whole turn (``--profile``), or None."""
    if not args.profile:
        return None
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        raise SystemExit("--profile needs py-spy in the venv: .venv/bin/pip install py-spy")
    output.parent.mkdir(exist_ok=True)
    return subprocess.Popen(
        [
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "250",
            "--duration",
            str(int(args.warmup + args.seconds)),
            "--output",
            str(output),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarise_profile(path: Path, kind: str, top: int) -> None:
    """Print where the bot spends its samples: own time, and time including callees."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame for frame in stack.split(";") if frame]
        if not frames:
            continue
        samples = int(count)
        total += samples
        own[_frame(frames[-1])] += samples
        for name in {_frame(frame) for frame in frames}:
            inclusive[name] += samples
    print(f"  profile of the {kind} bot ({total} samples; full stacks in {path}):")
    for name, samples in own.most_common(top):
        print(f"    self {samples / total:5.1%}  {name}")
    for name, samples in inclusive.most_common(top):
        print(f"    incl {samples / total:5.1%}  {name}")


def _frame(frame: str) -> str:
    """'function (path/to/module.py:12)' -> 'function (module.py)'."""
    name, _, where = frame.partition(" (")
    return f"{name} ({Path(where.rstrip(')').split(':')[0]).name})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100, help="simulated users at once")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per turn")
    parser.add_argument("--warmup", type=float, default=4.0, help="unmeasured seconds first")
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns per bot, alternating which goes first"
    )
    parser.add_argument(
        "--mix",
        type=parse_mix,
        default=parse_mix("prisoner=0.3,anniversaries=0.2,callback=0.3,inline=0.2"),
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=0,
        help="experiment: the plain echo bot's HTTP connection pool size",
    )
    parser.add_argument(
        "--json-body", action="store_true", help="experiment: the plain echo bot posts JSON bodies"
    )
    parser.add_argument(
        "--bots", default="real,echo,fair", help="which of real, echo, fair take turns"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="TOP",
        help="sample each bot with py-spy and print its TOP functions",
    )
    parser.add_argument(
        "--send-rate",
        type=float,
        default=SEND_RATE,
        help="the real and the fair bot's send budget (BOT_SEND_RATE)",
    )
    args = parser.parse_args()
    print(f"B1 command handling - {machine()}")
    print(
        f"  {args.users} simulated users, mix {args.mix}, {args.rounds} x "
        f"({args.warmup:.0f} s warm-up + {args.seconds:.0f} s) per bot",
        flush=True,
    )
    kinds = tuple(kind for kind in KINDS if kind in args.bots.split(","))
    results: dict[str, list[dict]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory(prefix="bench-b1-") as temporary:
        work = Path(temporary)
        emulator, url = start_emulator(work)
        try:
            for number in range(args.rounds):
                for kind in kinds if number % 2 == 0 else kinds[::-1]:
                    result = one_round(kind, number, url, emulator, work, args)
                    results[kind].append(result)
                    print(
                        f"  round {number + 1} {kind:4}: {result['per_second']:7.1f} updates/s"
                        f"  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms"
                        f"  bot CPU {result['bot_cpu']:4.0%}  emulator CPU "
                        f"{result['emulator_cpu']:4.0%}  timeouts {result['timeouts']}",
                        flush=True,
                    )
        finally:
            emulator.close()
    return report(results) if {"real", "echo"} <= set(kinds) else 0


def report(results: dict[str, list[dict]]) -> int:
    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[kind])

    real, echo = median("real", "per_second"), median("echo", "per_second")
    ratio = real / echo
    fair = median("fair", "per_second") if results.get("fair") else None
    cpu_ratio = median("echo", "bot_cpu_ms_per_update") / median("real", "bot_cpu_ms_per_update")
    violations = sum(r["violation_count"] for rs in results.values() for r in rs)
    print("\nResults (medians over the rounds)")
    for kind in results:
        show_row(f"{kind} bot: updates/s", f"{median(kind, 'per_second'):,.1f}")
        show_row(
            f"{kind} bot: latency p50 / p99 (ms)",
            f"{median(kind, 'p50_ms'):.1f} / {median(kind, 'p99_ms'):.1f}",
        )
        show_row(
            f"{kind} bot: CPU per update (ms)", f"{median(kind, 'bot_cpu_ms_per_update'):.2f}"
        )
    for kind_name in results["real"][0]["by_kind"]:
        p50 = statistics.median(r["by_kind"][kind_name]["p50_ms"] or 0 for r in results["real"])
        p99 = statistics.median(r["by_kind"][kind_name]["p99_ms"] or 0 for r in results["real"])
        show_row(f"real bot, {kind_name}: p50 / p99 (ms)", f"{p50:.1f} / {p99:.1f}")
    show_row(
        "throughput ratio real/echo", f"{ratio:.2f}", f">= {TARGET_RATIO}", ratio >= TARGET_RATIO
    )
    if fair:
        show_row(
            "throughput ratio real/fair echo (same HTTP, same budget)",
            f"{real / fair:.2f}",
            f">= {TARGET_RATIO}",
        )
        fair_cpu = median("fair", "bot_cpu_ms_per_update")
        show_row(
            "CPU-per-update ratio fair echo/real",
            f"{fair_cpu / median('real', 'bot_cpu_ms_per_update'):.2f}",
        )
    show_row("CPU-per-update ratio echo/real", f"{cpu_ratio:.2f}")
    show_row("requests the Bot API would reject", f"{violations}", "0", violations == 0)
    if violations:
        print(
            "  e.g.",
            next(r["violations"] for rs in results.values() for r in rs if r["violations"]),
        )
    return 0 if ratio >= TARGET_RATIO and not violations else 1


if __name__ == "__main__":
    sys.exit(main())
