"""Failures the real Bot API produces: injected on demand, or from its flood limits.

The error bodies copy Telegram's, because python-telegram-bot turns them into RetryAfter,
Forbidden, BadRequest, ChatMigrated and TimedOut, and the bot's retry logic is what we test.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

FAULT_KINDS = ("429", "403", "400", "migrate", "500", "timeout")
SENDING_PREFIXES = ("send", "copyMessage", "forwardMessage")


class ApiError(Exception):
    """An error answer; ``violation`` marks the bot's mistakes (they go to emulator.violations)."""

    def __init__(
        self,
        code: int,
        description: str,
        parameters: dict | None = None,
        *,
        violation: bool = False,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters
        self.violation = violation

    def payload(self) -> dict:
        body: dict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str, *, violation: bool = True) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}", violation=violation)


def retry_after(seconds: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


def migrated(chat_id: int) -> ApiError:
    return ApiError(
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": chat_id},
    )


def supergroup_id(chat_id: int) -> int:
    """The id Telegram gives a basic group after migration: -100 followed by its digits."""
    return int(f"-100{abs(chat_id)}")


@dataclass(slots=True)
class Fault:
    """One injected failure rule; ``hits`` counts the requests it failed."""

    method: str | None
    error: str
    times: int | None = None
    probability: float | None = None
    chat_id: int | str | None = None
    retry_after: int = 1
    migrate_to: int | None = None
    hold: float = 30.0
    """For "timeout": seconds to hold the request (or until the client hangs up)."""
    apply: bool = False
    """For "timeout": also perform the call, as when Telegram acts but the answer is lost."""
    hits: int = 0

    def matches(self, method: str, chat_id: int | str | None, rng: random.Random) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is None and method == "getUpdates":
            return False  # "any method" means the bot's calls, not the polling loop
        if self.method is not None and self.method.lower() != method.lower():
            return False
        if self.chat_id is not None and str(self.chat_id) != str(chat_id):
            return False
        return self.probability is None or rng.random() < self.probability

    def error_for(self, chat_id: int | str | None) -> ApiError | None:
        """The error to answer with, or None for "timeout" (handled by the server)."""
        if self.error == "429":
            return retry_after(self.retry_after)
        if self.error == "403":
            return ApiError(403, "Forbidden: bot was blocked by the user")
        if self.error == "400":
            return bad_request("chat not found", violation=False)
        if self.error == "migrate":
            target = self.migrate_to
            if target is None:
                target = supergroup_id(int(chat_id)) if isinstance(chat_id, int) else -1001
            return migrated(target)
        if self.error == "500":
            return ApiError(500, "Internal Server Error")
        return None


@dataclass(slots=True)
class RateLimiter:
    """Telegram's flood limits: about 30 messages/s overall and 20/min in one group."""

    global_per_second: float | None = 30
    per_group_per_minute: int | None = 20
    per_chat_per_second: float | None = None
    paid_per_second: float = 1000
    clock: Callable[[], float] = time.monotonic
    _global: deque = field(default_factory=deque)
    _paid: deque = field(default_factory=deque)
    """Paid broadcasts are counted apart: Telegram sends them "ignoring broadcasting
    limits", up to their own 1,000/s, and a bot's free 30/s stays for its other messages."""
    _groups: dict = field(default_factory=dict)
    _chats: dict = field(default_factory=dict)

    @staticmethod
    def applies_to(method: str) -> bool:
        return method.startswith(SENDING_PREFIXES)

    def check(self, chat_id: int | str | None, *, paid: bool = False) -> int | None:
        """Seconds to wait if this message would exceed a limit, else None (and count it)."""
        now = self.clock()
        checks: list[tuple[deque, float, float]] = []
        overall = self.paid_per_second if paid else self.global_per_second
        if overall:
            checks.append((self._paid if paid else self._global, overall, 1.0))
        is_group = (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str)
        if is_group and self.per_group_per_minute:
            window = self._groups.setdefault(chat_id, deque())
            checks.append((window, self.per_group_per_minute, 60.0))
        if self.per_chat_per_second and chat_id is not None:
            window = self._chats.setdefault(chat_id, deque())
            checks.append((window, self.per_chat_per_second, 1.0))
        wait = 0.0
        for window, limit, span in checks:
            while window and window[0] <= now - span:
                window.popleft()
            capacity = max(1, math.floor(limit))
            if len(window) >= capacity:
                wait = max(wait, window[0] + span - now)
        if wait > 0:
            return max(1, math.ceil(wait))
        for window, _limit, _span in checks:
            window.append(now)
        return None
