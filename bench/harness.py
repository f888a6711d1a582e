"""Shared plumbing for the benchmarks: child processes, /proc readings, percentiles, output.

Every benchmark runs the emulator and the bot in separate processes (``emulator_proc.py``,
``bot_proc.py``) so that each has a core of its own, as the bot and Telegram would. The
parent only orchestrates: it speaks to each child through one JSON object per line on the
child's stdin and stdout; the children's logs go to a file in the run's temporary directory.
"""

from __future__ import annotations

import json
import os
import platform
import queue
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOKEN = "123456:BENCH-token-ABCDEFGHIJKLMNOPQRSTU"
BOT_USERNAME = "zhanaozen_bench_bot"


class ChildFailed(RuntimeError):
    """A child process died or did not answer; the message carries the end of its log."""


class Child:
    """A Python child speaking JSON lines; ``request`` sends one and waits for the answer."""

    def __init__(self, script: str, arguments: list[str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH / script), *arguments],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self.pid = self.process.pid
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def receive(self, timeout: float = 120.0) -> dict:
        """The next JSON object the child prints (other output is ignored)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChildFailed(
                    f"{self.log_path.name}: no answer in {timeout:.0f} s{self.log_tail()}"
                )
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise ChildFailed(
                    f"{self.log_path.name}: the process exited "
                    f"(code {self.process.wait()}){self.log_tail()}"
                )
            if line.startswith("{"):
                return json.loads(line)

    def send(self, message: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def request(self, command: str, timeout: float = 120.0, **arguments: Any) -> dict:
        self.send({"cmd": command, **arguments})
        answer = self.receive(timeout)
        if "error" in answer:
            raise ChildFailed(f"{command}: {answer['error']}{self.log_tail()}")
        return answer

    def log_tail(self, lines: int = 15) -> str:
        try:
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n  log: " + "\n  log: ".join(tail) if tail else ""

    def close(self, timeout: float = 30.0) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # type: ignore[union-attr]
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_emulator(workdir: Path, *extra: str) -> tuple[Child, str]:
    """The emulator in its own process; returns it and its root URL."""
    emulator = Child(
        "emulator_proc.py", ["--username", BOT_USERNAME, *extra], workdir / "emulator.log"
    )
    started = emulator.receive(60)
    return emulator, f"http://127.0.0.1:{started['port']}"


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set so far (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def machine() -> str:
    """One line for the report: date, cores, CPU model, Python."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores ({model}), "
        f"Python {platform.python_version()}"
    )


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def show_row(name: str, value: str, target: str = "", ok: bool | None = None) -> None:
    status = "" if ok is None else f"  {verdict(ok)}"
    target = f"  target {target}" if target else ""
    print(f"  {name:46} {value:>14}{target}{status}", flush=True)
