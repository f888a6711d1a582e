"""Webhook mode refuses floods (issue 22, security review 3 H4 and L7): the real bot as a
process (``python -m bot``, webhook mode), the emulator delivering updates to its port."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from bot_process import BotProcess, emulator_thread, wait_until

from emulator.thread import EmulatorThread

USER = 4300
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@contextlib.contextmanager
def webhook_bot(tmp_path: Path) -> Iterator[tuple[EmulatorThread, BotProcess, int, str, str]]:
    """The bot serving a webhook on a free port; yields the emulator, the bot, the port,
    the webhook's path and its secret (as the bot told the emulator in setWebhook)."""
    port = free_port()
    with emulator_thread() as emulator:
        bot = BotProcess(
            emulator.emulator.root_url,
            tmp_path / "data",
            tmp_path / "bot.log",
            BOT_WEBHOOK_URL="https://bot.example.org",
            PORT=str(port),
        )
        try:
            bot.start()
            hook = wait_until(
                lambda: (
                    emulator.call(lambda: emulator.emulator.webhook)
                    or (not bot.running and "exited")
                ),
                60,
                "setWebhook",
            )
            assert hook != "exited", bot.log()[-2000:]
            path = hook["url"].rsplit("/", 1)[1]
            emulator.call(
                lambda: setattr(
                    emulator.emulator, "webhook_target", f"http://127.0.0.1:{port}/{path}"
                )
            )
            wait_until(lambda: healthz(port), 30, "/healthz", poll=0.2)
            yield emulator, bot, port, path, hook["secret_token"]
            assert bot.terminate() == 0
        finally:
            bot.cleanup()


def healthz(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def answered(emulator: EmulatorThread, chat_id: int, text: str, timeout: float) -> bool:
    before = emulator.call(lambda: len(emulator.emulator.sent(chat_id)))
    emulator.call(lambda: emulator.emulator.user_message(chat_id, text, user_id=chat_id))
    try:
        wait_until(
            lambda: emulator.call(lambda: len(emulator.emulator.sent(chat_id))) > before,
            timeout,
            f"an answer to {text}",
            poll=0.1,
        )
    except AssertionError:
        return False
    return True


def post_huge(port: int, path: str, secret: str, size: int) -> tuple[str, int]:
    """Declare and start sending ``size`` bytes; the status line, and how much was sent
    before the bot closed the connection."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST /{path} HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\nContent-Length: {size}\r\n\r\n"
    )
    sock.sendall(head.encode())
    sent, chunk = 0, b"x" * MB
    with contextlib.suppress(OSError):
        while sent < size:
            sock.sendall(chunk)
            sent += len(chunk)
    try:
        status = sock.recv(200).decode(errors="replace").split("\r\n", 1)[0]
    except OSError:
        status = ""
    sock.close()
    return status, sent


def test_a_90_mb_body_is_refused_with_413_and_costs_no_memory(tmp_path):
    with webhook_bot(tmp_path) as (emulator, bot, port, path, secret):
        assert answered(emulator, USER, "/start", 20), "the webhook delivers updates"
        pid = bot.process.pid
        before = rss_mb(pid)
        for _ in range(3):
            status, sent = post_huge(port, path, secret, 90 * MB)
            assert " 413 " in status + " ", status
            assert sent < 90 * MB, "the bot read the whole body"
        assert rss_mb(pid) - before < 20, f"RSS {before:.0f} -> {rss_mb(pid):.0f} MB"
        assert answered(emulator, USER, "/help", 20)
        log = bot.log()
        assert "xxxxxxxx" not in log


def test_idle_connections_do_not_stop_answers_and_a_replay_is_answered_once(tmp_path):
    with webhook_bot(tmp_path) as (emulator, bot, port, path, secret):
        idle = []
        for _ in range(300):  # headers never finished, from another address than Telegram's
            sock = socket.socket()
            sock.bind(("127.0.0.2", 0))
            with contextlib.suppress(OSError):
                sock.connect(("127.0.0.1", port))
                sock.sendall(b"POST / HTTP/1.1\r\nHost: bot\r\n")
            idle.append(sock)
        try:
            started = time.monotonic()
            assert answered(emulator, USER, "/start", 20), "deaf while the sockets are held"
            assert time.monotonic() - started < 5
            assert healthz(port)
            assert len(os.listdir(f"/proc/{bot.process.pid}/fd")) < 150
        finally:
            for sock in idle:
                sock.close()
        # Telegram sends an update again when an answer was slow: it is handled once.
        update = {
            "update_id": 999_001,
            "message": {
                "message_id": 77,
                "date": int(time.time()),
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                "chat": {"id": USER, "type": "private", "first_name": "U"},
                "from": {"id": USER, "is_bot": False, "first_name": "U"},
            },
        }
        before = emulator.call(lambda: len(emulator.emulator.sent(USER)))
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        for _ in range(3):
            response = httpx.post(
                f"http://127.0.0.1:{port}/{path}",
                content=json.dumps(update),
                headers=headers,
                timeout=10,
            )
            assert response.status_code == 200
        wait_until(
            lambda: emulator.call(lambda: len(emulator.emulator.sent(USER))) > before,
            20,
            "the replayed update's answer",
        )
        time.sleep(1.0)
        assert emulator.call(lambda: len(emulator.emulator.sent(USER))) == before + 1
        wrong = httpx.post(
            f"http://127.0.0.1:{port}/{path}",
            content=b"{}",
            headers={"X-Telegram-Bot-Api-Secret-Token": "x"},
            timeout=10,
        )
        assert wrong.status_code == 403
        bad = httpx.post(
            f"http://127.0.0.1:{port}/{path}",
            content=b'{"text": "secret words"}',
            headers=headers,
            timeout=10,
        )
        assert bad.status_code == 400
        assert "secret words" not in bot.log()
