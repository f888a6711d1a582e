"""Callback data: the formats buttons carry, built and parsed in one place.

Callback data comes back from the client and can be forged, so parsing is strict: anything
that does not match a known format exactly is rejected, and no format carries a chat id
(actions always apply to the chat the button was pressed in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

MAX_BYTES = 64

SETTINGS = "rs"
"""The reminder settings panel (``handlers.settings``)."""
CHANNEL = "chn"
"""A channel's settings panel, pressed in a private chat (``handlers.channels``)."""
ADMIN = "adm"
"""Organisers' flows: protests and broadcasts (``handlers.admin``)."""
EVENT = "ev"
"""A protest's buttons under reminders and lists (``handlers.protests``)."""

_PATTERNS = MappingProxyType({
    # action: regex over the arguments after "action:"
    "card": re.compile(r"^(?P<id>[a-z0-9-]{3,48})(?::(?P<page>\d{1,2}))?$"),
    "list": re.compile(r"^(?P<kind>[pma])(?::(?P<page>\d{1,3}))?$"),
    "menu": re.compile(r"^(?P<name>main|help|today|language|settings)$"),
    "lang": re.compile(r"^(?P<code>en|ru)$"),
    "fix": re.compile(r"^(?P<id>[a-z0-9-]{3,48})$"),
    "fixno": re.compile(r"^$"),
    SETTINGS: re.compile(r"^(?P<op>sub|unsub|menu|topic|lead|zones|tz|tzother|hours|hour|"
                         r"cities|city|ics|forgetok)(?::(?P<arg>[a-z0-9*_-]{1,32}))?$"),
    CHANNEL: re.compile(r"^(?P<op>menu|sub|unsub|lang|topic|lead|zones|tz|hours|hour|forget)"
                        r":(?P<chat>-\d{1,19})(?::(?P<arg>[a-z0-9*_-]{1,32}))?$"),
    ADMIN: re.compile(r"^(?P<op>tz|skip|publish|discard|bcok|cancel|cancelok)"
                      r"(?::(?P<arg>[a-z0-9-]{1,48}))?$"),
    EVENT: re.compile(r"^(?P<op>ics|list)(?::(?P<id>[a-z0-9-]{3,48}))?$"),
})
"""Every button format of the bot, fixed at import: no module adds to it later."""


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


def pattern_for(*actions: str) -> re.Pattern[str]:
    """Regex for CallbackQueryHandler(pattern=...) matching these actions."""
    return re.compile(r"^(?:" + "|".join(re.escape(a) for a in actions) + r")(?::|$)")
