"""The deploy smoke test: the container image against the local Bot API emulator.

    .venv/bin/python deploy/smoke_test.py [--image zhanaozen-bot:latest]

(``make smoke`` builds the image first.) The emulator runs here, on 127.0.0.1; the container
shares the host's network so ``BOT_API_URL`` reaches it. Checked, in order: the bot answers
``/start``; a chat subscribes; the container turns ``healthy``; ``docker stop`` (SIGTERM)
stops it within 10 s with exit code 0; a new container on the same volume still has the
subscriber (``/stats``, asked by an admin); a second container with the same token exits
non-zero, saying that another instance is polling. Exits non-zero on the first failure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.ops.health import YOUNG_FOR  # noqa: E402
from emulator import EmulatorThread  # noqa: E402

TOKEN = "123456:SMOKE-token-ABCDEFGHIJKLMNOPQRSTUV"
ADMIN = 4242
USER = 5151
STOP_LIMIT = 10.0


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                            check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"docker {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result


def wait_until(predicate, timeout: float, what: str, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)


class Smoke:
    def __init__(self, image: str) -> None:
        self.image = image
        self.run_id = uuid.uuid4().hex[:8]
        self.volume = f"zhanaozen-smoke-{self.run_id}"
        self.containers: list[str] = []
        self.passed = 0
        self.emulator = EmulatorThread(username="zhanaozen_smoke_bot").start()

    def start_container(self, name: str, volume: str | None = None) -> str:
        api_url = self.emulator.call(lambda: self.emulator.emulator.root_url)
        docker("run", "-d", "--name", name, "--network", "host",
               "-e", f"BOT_TOKEN={TOKEN}", "-e", f"BOT_API_URL={api_url}",
               "-e", f"BOT_ADMIN_IDS={ADMIN}", "-v", f"{volume or self.volume}:/data",
               "--health-interval", "2s", "--health-start-period", "60s", self.image)
        self.containers.append(name)
        return name

    def polls(self) -> int:
        return self.emulator.call(
            lambda: sum(r.method == "getUpdates" for r in self.emulator.emulator.requests))

    def say(self, chat: int, text: str, timeout: float = 60) -> str:
        """Send ``text`` as the user; the bot's next message to that chat."""
        before = self.emulator.call(lambda: len(self.emulator.emulator.sent(chat)))
        self.emulator.call(lambda: self.emulator.emulator.user_message(chat, text))
        messages = wait_until(
            lambda: self.emulator.call(lambda: self.emulator.emulator.sent(chat)[before:]),
            timeout, f"an answer to {text!r}")
        return messages[0].text

    def wait_running(self, name: str, timeout: float = 90) -> None:
        before = self.polls()

        def polling() -> bool:
            state = json.loads(docker("inspect", name).stdout)[0]["State"]
            if not state["Running"]:
                logs = docker("logs", name, check=False)
                raise AssertionError(f"{name} exited ({state['ExitCode']}):\n"
                                     f"{(logs.stdout + logs.stderr)[-3000:]}")
            return self.polls() > before + 1

        wait_until(polling, timeout, f"{name} to poll the emulator", poll=0.5)

    def health(self, name: str) -> str:
        state = json.loads(docker("inspect", name).stdout)[0]["State"]
        return state.get("Health", {}).get("Status", "none")

    def stop(self, name: str) -> float:
        began = time.monotonic()
        docker("stop", "--time", "30", name)
        took = time.monotonic() - began
        code = json.loads(docker("inspect", name).stdout)[0]["State"]["ExitCode"]
        assert code == 0, f"{name} exited with {code} after SIGTERM"
        assert took < STOP_LIMIT, f"{name} took {took:.1f}s to stop after SIGTERM"
        return took

    def run(self) -> None:
        step = time.monotonic()

        def done(what: str) -> None:
            nonlocal step
            self.passed += 1
            print(f"ok  {what} ({time.monotonic() - step:.1f}s)", flush=True)
            step = time.monotonic()

        image = json.loads(docker("image", "inspect", self.image).stdout)[0]["Config"]
        assert image["User"] not in ("", "root", "0"), "the image runs as root"
        assert "/data" in (image.get("Volumes") or {}), "/data is not declared a VOLUME"
        assert image["Healthcheck"]["Test"][1:] == ["python", "-m", "bot", "health"], \
            image["Healthcheck"]
        done(f"the image runs as {image['User']!r}, declares /data and a HEALTHCHECK")
        first = self.start_container(f"zhanaozen-smoke-a-{self.run_id}")
        self.wait_running(first)
        done("the container starts and polls the emulator")
        answer = self.say(USER, "/start")
        assert answer, "empty answer to /start"
        done("it answers /start")
        answer = self.say(USER, "/subscribe")
        assert "Subscribed" in answer, answer
        done("a chat subscribes")
        wait_until(lambda: self.health(first) == "healthy", 90, "the container to be healthy",
                   poll=1)
        done("the container is healthy")
        took = self.stop(first)
        done(f"SIGTERM stops it cleanly in {took:.1f}s (limit {STOP_LIMIT:.0f}s)")
        docker("rm", first)
        second = self.start_container(f"zhanaozen-smoke-b-{self.run_id}")
        self.wait_running(second)
        second_up = time.monotonic()
        stats = self.say(ADMIN, "/stats")
        assert "subscribed: 1" in stats, stats
        done("a new container on the same volume still has the subscriber")
        # Another deployment with the same token, on its own disk (as two Heroku dynos would
        # be; on the same volume the data dir's lock stops it first). The running one keeps
        # serving once it is past its first seconds (bot/ops/health.py: YOUNG_FOR).
        time.sleep(max(0.0, YOUNG_FOR + 2 - (time.monotonic() - second_up)))
        third = self.start_container(f"zhanaozen-smoke-c-{self.run_id}",
                                     volume=f"{self.volume}-other")
        result = docker("wait", third, timeout=90)
        logs = docker("logs", third, check=False)
        output = logs.stdout + logs.stderr
        assert result.stdout.strip() != "0", "a second instance exited with code 0"
        assert "Another instance of this bot is polling" in output, output[-2000:]
        assert json.loads(docker("inspect", second).stdout)[0]["State"]["Running"], \
            "the running instance stopped when a second one started"
        done(f"a second instance exits with code {result.stdout.strip()} and says why")

    def cleanup(self) -> None:
        for name in self.containers:
            docker("rm", "-f", name, check=False)
        docker("volume", "rm", "-f", self.volume, f"{self.volume}-other", check=False)
        self.emulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", default="zhanaozen-bot:latest")
    args = parser.parse_args()
    began = time.monotonic()
    smoke = Smoke(args.image)
    try:
        smoke.run()
    except AssertionError as failure:
        for name in smoke.containers:
            logs = docker("logs", "--tail", "30", name, check=False)
            print(f"--- {name}\n{logs.stdout}{logs.stderr}", file=sys.stderr)
        print(f"FAILED: {failure}", file=sys.stderr)
        print(f"smoke: {smoke.passed} passed, 1 failed")
        return 1
    finally:
        smoke.cleanup()
    print(f"deploy smoke test passed in {time.monotonic() - began:.0f}s")
    print(f"smoke: {smoke.passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
