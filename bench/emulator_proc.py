"""The Bot API emulator in its own process, driven by the benchmarks over stdin/stdout.

Prints ``{"port": N}`` once listening, then answers one JSON command per line:
``load`` (B1's simulated users), ``rate_limit``, ``track``/``count``/``summary`` (B2's
delivery accounting), ``people`` (B4's commands from distinct chats at a fixed rate),
``mark``/``first_poll`` and ``ask`` (B3), ``reset``, ``stats``.
The simulated users live here, next to the emulator, so "update pushed" and "reply recorded"
are read on one clock without a process hop in between.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator import Emulator
from emulator.records import BotMessage, InlineAnswer

NAVIGATION = ("card:", "list:")
"""Buttons the simulated users press: opening cards, turning pages, going back to lists."""
PEOPLE = [
    "Tuletaeva",
    "Тулетаева",
    "tuletayeva",
    "Aminov",
    "Kozlov",
    "Козлов",
    "Sapargali",
    "Atabek",
    "Атабек",
    "Kurmanov",
    "Bozhenko",
    "Epshtein",
    "Eleusinov",
    "Shamilov",
    "Kenzhebaeva",
    "Ukteshbayev",
    "Yermukhanov",
    "qqqq",
    "Tuletaiva",
    "Zhannyr",
]
INLINE = [
    "",
    "Tuletaeva",
    "Zhanaozen",
    "Жанаозен",
    "16.12",
    "Aminov",
    "Kozlov",
    "Atabek",
    "Shetpe",
    "trial",
    "Козлов",
    "Kurmanov",
    "prisoner",
]
DEFAULT_MIX = {"prisoner": 0.3, "anniversaries": 0.2, "callback": 0.3, "inline": 0.2}
PEOPLE_FROM = 9_000_000
"""B4's people write from chat ids at and above this; the fan-out's subscribers are below."""
COMMANDS = [
    "/prisoner Tuletaeva",
    "/prisoner Козлов",
    "/anniversaries",
    "/today",
    "/anniversary 16.12",
    "/prisoner Aminov",
]
"""What B4's people send: each is answered with one message."""


class People:
    """B4: one command a ``1/rate`` seconds, each from a chat that never wrote before (open
    loop: nobody waits for an answer before the next person writes). Latency runs from the
    update being queued to the first message the bot sends into that chat."""

    def __init__(
        self, emulator: Emulator, rate: float, seconds: float, first_chat: int, seed: int
    ) -> None:
        self.emulator = emulator
        self.rate, self.seconds, self.first_chat = rate, seconds, first_chat
        self.rng = random.Random(seed)
        self.waiting: dict[int, tuple[float, asyncio.Future]] = {}

    def on_event(self, event: str, payload: Any) -> None:
        if event == "message" and isinstance(payload, BotMessage):
            entry = self.waiting.pop(payload.chat_id, None)
            if entry is not None and not entry[1].done():
                entry[1].set_result(time.monotonic() - entry[0])

    async def run(self, tracker: Tracker | None) -> dict:
        loop = asyncio.get_running_loop()
        self.emulator.listeners.append(self.on_event)
        futures = []
        began = time.monotonic()
        try:
            count = round(self.rate * self.seconds)
            for number in range(count):
                delay = began + number / self.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                chat_id = self.first_chat + number
                future = loop.create_future()
                self.waiting[chat_id] = (time.monotonic(), future)
                futures.append(future)
                self.emulator.user_message(
                    chat_id, self.rng.choice(COMMANDS), language_code=self.rng.choice(("en", "ru"))
                )
            ended = time.monotonic()
            done, _ = await asyncio.wait(futures, timeout=30)
        finally:
            self.emulator.listeners.remove(self.on_event)
        latencies = sorted(f.result() for f in done)
        result: dict[str, Any] = {
            "commands": len(futures),
            "answered": len(latencies),
            "timeouts": len(futures) - len(latencies),
            "seconds": ended - began,
            "p50_s": _pick(latencies, 0.5),
            "p95_s": _pick(latencies, 0.95),
            "p99_s": _pick(latencies, 0.99),
            "max_s": latencies[-1] if latencies else None,
        }
        if tracker is not None:
            result.update(tracker.window(began, ended))
        return result


def _pick(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


class Load:
    """Closed-loop simulated users: each waits for the bot's answer before the next action."""

    def __init__(self, emulator: Emulator, users: int, mix: dict[str, float], seed: int) -> None:
        self.emulator = emulator
        self.users = users
        self.kinds = list(mix)
        self.weights = [mix[kind] for kind in self.kinds]
        self.seed = seed
        self.waiting: dict[int, asyncio.Future] = {}
        self.inline_waiting: dict[int, asyncio.Future] = {}
        self.latencies: dict[str, list[float]] = {kind: [] for kind in self.kinds}
        self.completed = 0
        self.in_window = 0
        self.timeouts = 0

    def on_event(self, event: str, payload: Any) -> None:
        if event == "message" and isinstance(payload, BotMessage):
            future = self.waiting.pop(payload.chat_id, None)
        elif event == "inline_answer" and isinstance(payload, InlineAnswer):
            future = self.inline_waiting.pop(payload.update_id, None)
        else:
            return
        if future is not None and not future.done():
            future.set_result(payload)

    async def run(self, warmup: float, seconds: float) -> dict:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        window = (begin + warmup, begin + warmup + seconds)
        self.emulator.listeners.append(self.on_event)
        cpu_before = None
        try:
            tasks = [asyncio.create_task(self.user(20_000 + n, window)) for n in range(self.users)]
            await asyncio.sleep(warmup)
            cpu_before = _cpu()
            await asyncio.gather(*tasks)
        finally:
            self.emulator.listeners.remove(self.on_event)
        cpu = _cpu() - (cpu_before or 0)
        all_latencies = [value for values in self.latencies.values() for value in values]
        return {
            "completed": self.completed,
            "in_window": self.in_window,
            "seconds": seconds,
            "per_second": self.in_window / seconds,
            "timeouts": self.timeouts,
            "p50_ms": _ms(all_latencies, 0.5),
            "p99_ms": _ms(all_latencies, 0.99),
            "by_kind": {
                kind: {"n": len(values), "p50_ms": _ms(values, 0.5), "p99_ms": _ms(values, 0.99)}
                for kind, values in self.latencies.items()
            },
            "emulator_cpu": cpu / seconds,
            "violations": list(self.emulator.violations[:5]),
            "violation_count": len(self.emulator.violations),
        }

    async def user(self, user_id: int, window: tuple[float, float]) -> None:
        loop = asyncio.get_running_loop()
        rng = random.Random(self.seed * 1_000_003 + user_id)
        language = "ru" if rng.random() < 0.4 else "en"
        buttons: tuple[int, list[str]] | None = None  # last message with navigation buttons
        while loop.time() < window[1]:
            kind = rng.choices(self.kinds, self.weights)[0]
            if kind == "callback" and buttons is None:
                kind = "anniversaries"
            future = loop.create_future()
            if kind == "inline":
                update_id = self.emulator.inline_query(
                    user_id, rng.choice(INLINE), language_code=language
                )
                self.inline_waiting[update_id] = future
            else:
                self.waiting[user_id] = future
                if kind == "callback":
                    assert buttons is not None
                    self.emulator.press(
                        user_id,
                        buttons[0],
                        rng.choice(buttons[1]),
                        user_id=user_id,
                        language_code=language,
                    )
                elif kind == "prisoner":
                    self.emulator.user_message(
                        user_id, f"/prisoner {rng.choice(PEOPLE)}", language_code=language
                    )
                else:
                    self.emulator.user_message(user_id, "/anniversaries", language_code=language)
            pushed = loop.time()
            try:
                answer = await asyncio.wait_for(future, 30)
            except TimeoutError:
                self.timeouts += 1
                self.waiting.pop(user_id, None)
                buttons = None
                continue
            done = loop.time()
            self.completed += 1
            if window[0] <= pushed and done <= window[1]:
                self.in_window += 1
                self.latencies[kind].append(done - pushed)
            elif window[0] <= done <= window[1]:
                self.in_window += 1
            if isinstance(answer, BotMessage):
                usable = [
                    b["callback_data"]
                    for b in answer.buttons
                    if b.get("callback_data", "").startswith(NAVIGATION)
                ]
                if usable and answer.message_id is not None:
                    buttons = (answer.message_id, usable)


def _ms(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _peak_rss() -> float:
    """Peak RSS in MB (VmHWM: ru_maxrss would include the parent's peak before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Tracker:
    """B2: counts what reached each chat, by (chat, text), and forgets everything else.

    The emulator keeps every request and message for tests to inspect; for 200,000 messages
    that costs gigabytes and long GC pauses, so the records are dropped as they come.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.times: list[float] = []
        self.reply_times: list[float] = []
        """B4: messages to people (chats from PEOPLE_FROM), apart from the fan-out's."""
        self.pairs: Counter[tuple[int, bytes]] = Counter()
        self.trimmer: asyncio.Task | None = None

    def on_event(self, event: str, payload: Any) -> None:
        if event == "message" and isinstance(payload, BotMessage) and not payload.edited:
            if payload.chat_id is not None and payload.chat_id >= PEOPLE_FROM:
                self.reply_times.append(time.monotonic())
                return
            self.times.append(time.monotonic())
            digest = hashlib.blake2b(payload.raw_text.encode(), digest_size=8).digest()
            self.pairs[(payload.chat_id, digest)] += 1

    async def trim(self) -> None:
        emulator = self.emulator
        while True:
            await asyncio.sleep(1.0)
            emulator.requests.clear()
            emulator._timeline.clear()  # the emulator's private record lists
            emulator._history.clear()
            emulator._read.clear()
            emulator.messages.clear()

    def window(self, began: float, ended: float) -> dict:
        """B4: what the fan-out and the replies sent between two instants, and the most
        messages in any one-second window (Telegram's limit is on that)."""
        import bisect

        fan_out = [t for t in self.times[bisect.bisect_left(self.times, began) :] if t <= ended]
        replies = [
            t
            for t in self.reply_times[bisect.bisect_left(self.reply_times, began) :]
            if t <= ended
        ]
        both = sorted(fan_out + replies)
        busiest, start = 0, 0
        for end, moment in enumerate(both):
            while both[start] <= moment - 1.0:
                start += 1
            busiest = max(busiest, end - start + 1)
        span = max(ended - began, 1e-9)
        return {
            "fan_out_per_s": len(fan_out) / span,
            "replies_per_s": len(replies) / span,
            "total_per_s": len(both) / span,
            "busiest_second": busiest,
            "too_many_requests": self.emulator.too_many_requests,
        }

    def summary(
        self, expected_path: str | None, per_chat: int, cuts: list[int] | None = None
    ) -> dict:
        counts = Counter(self.pairs.values())
        chats = Counter(chat for chat, _ in self.pairs)
        result: dict[str, Any] = {
            "messages": len(self.times),
            "pairs": len(self.pairs),
            "duplicated_pairs": sum(n for times, n in counts.items() if times > 1),
            "chats": len(chats),
            "too_many_requests": self.emulator.too_many_requests,
            "violation_count": len(self.emulator.violations),
            "violations": list(self.emulator.violations[:5]),
            "first": self.times[0] if self.times else None,
            "last": self.times[-1] if self.times else None,
            "windows": _windows(self.times, 10.0),
            "spans": _spans(self.times, cuts or [len(self.times)]),
        }
        if expected_path:
            expected = set(json.loads(Path(expected_path).read_text()))
            result["unexpected_chats"] = len(set(chats) - expected)
            result["missing_chats"] = len(expected - set(chats))
            result["short_chats"] = sum(
                1 for chat in expected if 0 < chats.get(chat, 0) < per_chat
            )
        return result


def _spans(times: list[float], cuts: list[int]) -> list[tuple[float, float, int]]:
    """(first, last, count) of the messages of each run of the bot; ``cuts`` are the
    message counts at which each run ended."""
    spans, start = [], 0
    for cut in cuts:
        if cut > start:
            spans.append((times[start], times[cut - 1], cut - start))
        start = cut
    return spans


def _windows(times: list[float], span: float) -> list[float]:
    """Messages per second in consecutive ``span``-second windows after the first message."""
    if not times:
        return []
    start, rates, index = times[0], [], 0
    while True:
        end = start + span
        if end > times[-1]:
            return rates
        count = 0
        while index < len(times) and times[index] < end:
            count += 1
            index += 1
        rates.append(count / span)
        start = end


class Control:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.tracker: Tracker | None = None
        self.first_poll: float | None = None
        self.polled = asyncio.Event()
        self.emulator.listeners.append(self._on_request)

    def _on_request(self, event: str, payload: Any) -> None:
        if (
            event == "request"
            and self.first_poll is None
            and getattr(payload, "method", None) == "getUpdates"
        ):
            self.first_poll = time.monotonic()
            self.polled.set()

    async def handle(self, command: dict) -> dict:
        name = command.pop("cmd")
        emulator = self.emulator
        if name == "load":
            load = Load(
                emulator,
                command.get("users", 100),
                command.get("mix") or DEFAULT_MIX,
                command.get("seed", 0),
            )
            return await load.run(command.get("warmup", 5.0), command.get("seconds", 20.0))
        if name == "reset":
            emulator.reset()
            gc.collect()
            return {"ok": True}
        if name == "rate_limit":
            emulator.rate_limit(
                command.get("global_per_second", 30), command.get("per_group_per_minute", 20)
            )
            if command.get("paid_per_second"):
                emulator.rate_limiter.paid_per_second = command["paid_per_second"]
            return {"ok": True}
        if name == "track":
            self.tracker = Tracker(emulator)
            emulator.listeners.append(self.tracker.on_event)
            self.tracker.trimmer = asyncio.create_task(self.tracker.trim())
            gc.freeze()  # the set-up's objects never need collecting again
            return {"ok": True}
        if name == "people":
            people = People(
                emulator,
                command["rate"],
                command["seconds"],
                command.get("first_chat", PEOPLE_FROM),
                command.get("seed", 0),
            )
            return await people.run(self.tracker)
        if name == "count":
            return {
                "messages": len(self.tracker.times) if self.tracker else 0,
                "too_many_requests": emulator.too_many_requests,
            }
        if name == "summary":
            assert self.tracker is not None
            return self.tracker.summary(
                command.get("expected"), command.get("per_chat", 1), command.get("cuts")
            )
        if name == "mark":
            self.first_poll = None
            self.polled.clear()
            return {"now": time.monotonic()}
        if name == "first_poll":  # polling starts just after the bot says it is ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.polled.wait(), command.get("timeout", 30))
            return {"at": self.first_poll}
        if name == "ask":
            chat_id = command.get("chat_id", 777)
            started = time.monotonic()
            emulator.user_message(
                chat_id, command["text"], language_code=command.get("lang", "en")
            )
            reply = await emulator.next_message(chat_id, timeout=command.get("timeout", 30))
            return {"seconds": time.monotonic() - started, "text": reply.text[:80]}
        if name == "stats":
            return {
                "cpu_s": _cpu(),
                "violations": list(emulator.violations[:5]),
                "violation_count": len(emulator.violations),
                "peak_rss_mb": _peak_rss(),
            }
        return {"error": f"unknown command {name!r}"}


async def serve(args: argparse.Namespace) -> None:
    emulator = Emulator(username=args.username, seed=args.seed)
    async with emulator:
        control = Control(emulator)
        print(json.dumps({"port": emulator.port}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            try:
                answer = await control.handle(json.loads(line))
            except Exception as error:  # report to the parent instead of dying silently
                answer = {"error": repr(error)}
            print(json.dumps(answer), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--username", default="zhanaozen_bench_bot")
    parser.add_argument("--seed", type=int, default=0)
    asyncio.run(serve(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
