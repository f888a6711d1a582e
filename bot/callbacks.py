"""Callback data: the formats buttons carry, built and parsed in one place.

Callback data comes back from the client and can be forged, so parsing is strict: anything
that does not match a known format exactly is rejected, and no format carries a chat id
(actions always apply to the chat the button was pressed in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64

_PATTERNS = {
    # action: regex over the arguments after "action:"
    "card": re.compile(r"^(?P<id>[a-z0-9-]{3,48})(?::(?P<page>\d{1,2}))?$"),
    "list": re.compile(r"^(?P<kind>[pma])(?::(?P<page>\d{1,3}))?$"),
    "menu": re.compile(r"^(?P<name>main|help|people|memorial|calendar|today|language|settings)$"),
    "lang": re.compile(r"^(?P<code>en|ru)$"),
    "fix": re.compile(r"^(?P<id>[a-z0-9-]{3,48})$"),
    "fixno": re.compile(r"^$"),
}


@dataclass(frozen=True, slots=True)
class Callback:
    action: str
    args: dict[str, str]

    def int(self, name: str, default: int = 0) -> int:
        value = self.args.get(name)
        return int(value) if value else default


def build(action: str, *args: object) -> str:
    data = ":".join([action, *(str(arg) for arg in args)])
    if len(data.encode()) > MAX_BYTES or parse(data) is None:
        raise ValueError(f"callback data {data!r} is not a valid {action!r} button")
    return data


def parse(data: str | None) -> Callback | None:
    """The callback if it is one of ours and well formed, else None."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    action, _, rest = data.partition(":")
    pattern = _PATTERNS.get(action)
    if pattern is None:
        return None
    match = pattern.match(rest)
    if match is None:
        return None
    return Callback(action, {k: v for k, v in match.groupdict().items() if v is not None})


def register(action: str, pattern: str) -> None:
    """Let a feature module (settings, events) add its own strictly parsed format."""
    _PATTERNS[action] = re.compile(pattern)


def pattern_for(*actions: str) -> re.Pattern[str]:
    """Regex for CallbackQueryHandler(pattern=...) matching these actions."""
    return re.compile(r"^(?:" + "|".join(re.escape(a) for a in actions) + r")(?::|$)")
