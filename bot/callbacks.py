"""Callback data: the formats buttons carry, built, matched and parsed from one table.

Callback data comes back from the client and can be forged, so parsing is strict: anything
that does not match a known format exactly is rejected, and no format carries a chat id
(actions always apply to the chat the button was pressed in; a channel's panel names its
channel, and its handler asks Telegram each time). Buttons are made with ``build`` and
handlers registered with ``pattern`` from the same ``_FORMATS``, so a button and the handler
that answers it cannot drift apart (tests/test_callbacks.py checks every keyboard).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from bot.i18n import LANGUAGES

MAX_BYTES = 64

SETTINGS = "rs"
"""The reminder settings panel (``handlers.panel``, ``handlers.timezone``)."""
CHANNEL = "chn"
"""A channel's settings panel, pressed in a private chat (``handlers.channels``)."""
ADMIN = "adm"
"""Organisers' flows: protests and broadcasts (``handlers.organisers``, ``handlers.broadcast``)."""
EVENT = "ev"
"""A protest's buttons under reminders and lists (``handlers.protests``)."""
FOLLOW = "fol"
"""Following a card's news: under the card, and the list in the settings (``handlers.follow``)."""


@dataclass(frozen=True, slots=True)
class _Format:
    """``action:<op>…``: ``field`` (if any) names what the button does, one of ``ops``;
    ``tail`` is the regex of the rest."""

    tail: str
    field: str | None = None
    ops: tuple[str, ...] = ()


_FORMATS = MappingProxyType(
    {
        "card": _Format(r"(?P<id>[a-z0-9-]{3,48})(?::(?P<page>\d{1,2}))?"),
        "list": _Format(r"(?P<kind>[pmwa])(?::(?P<page>\d{1,3}))?"),
        "menu": _Format("", "name", ("main", "help", "today", "language", "settings")),
        "lang": _Format("", "code", LANGUAGES),
        "fix": _Format(r"(?P<id>[a-z0-9-]{3,48})"),
        "fixno": _Format(""),
        SETTINGS: _Format(
            r"(?::(?P<arg>[a-z0-9*_-]{1,32}))?",
            "op",
            (
                "sub",
                "unsub",
                "menu",
                "topic",
                "lead",
                "zones",
                "tz",
                "tzother",
                "hours",
                "hour",
                "cities",
                "city",
                "ics",
                "forgetok",
            ),
        ),
        CHANNEL: _Format(
            r":(?P<chat>-\d{1,19})(?::(?P<arg>[a-z0-9*_-]{1,32}))?",
            "op",
            (
                "menu",
                "sub",
                "unsub",
                "lang",
                "topic",
                "lead",
                "zones",
                "tz",
                "hours",
                "hour",
                "forget",
                "follows",
                "follow",
            ),
        ),
        ADMIN: _Format(
            r"(?::(?P<arg>[a-z0-9-]{1,48}))?",
            "op",
            (
                "tz",
                "skip",
                "bcskip",
                "publish",
                "discard",
                "bcok",
                "cancel",
                "cancelok",
                "edit",
                "keep",
                "etz",
                "eskip",
                "editok",
                "msgto",
                "msskip",
                "msok",
                "editno",
                "msno",
                "bcno",
                "cancelno",
            ),
        ),
        EVENT: _Format(r"(?::(?P<id>[a-z0-9-]{3,48}))?", "op", ("ics", "come")),
        FOLLOW: _Format(
            r"(?::(?P<id>[a-z0-9-]{3,48})(?::(?P<page>\d{1,2}))?)?",
            "op",
            ("on", "off", "list", "stop"),
        ),
    }
)
"""Every button format of the bot, fixed at import: no module adds to it later."""


@dataclass(frozen=True, slots=True)
class Callback:
    action: str
    args: dict[str, str]

    def int(self, name: str, default: int = 0) -> int:
        value = self.args.get(name)
        return int(value) if value else default


def pattern(action: str, *ops: str) -> re.Pattern[str]:
    """The anchored regex over the whole callback data that a ``CallbackQueryHandler`` takes
    for this action's buttons (only those doing one of ``ops``, if any are named)."""
    form = _FORMATS[action]
    if not set(ops) <= set(form.ops):
        raise ValueError(f"{action!r} buttons do not do {sorted(set(ops) - set(form.ops))}")
    head = ""
    if form.field:
        head = f"(?P<{form.field}>{'|'.join(re.escape(op) for op in ops or form.ops)})"
    body = head + form.tail
    # ASCII: \d would take any script's digits (and int() reads them), and bytes could pass 64.
    return re.compile(rf"^{re.escape(action)}" + (f":{body}" if body else "") + r"\Z", re.ASCII)


_WHOLE = MappingProxyType({action: pattern(action) for action in _FORMATS})


def build(action: str, *args: object) -> str:
    data = ":".join([action, *(str(arg) for arg in args)])
    if len(data.encode()) > MAX_BYTES or parse(data) is None:
        raise ValueError(f"callback data {data!r} is not a valid {action!r} button")
    return data


def parse(data: str | None) -> Callback | None:
    """The callback if it is one of ours and well formed, else None."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    whole = _WHOLE.get(data.partition(":")[0])
    match = whole.match(data) if whole else None
    return from_match(match) if match else None


def from_match(match: re.Match[str]) -> Callback:
    """The callback a handler's ``pattern`` matched (PTB passes it in ``context.matches``)."""
    return Callback(
        match.string.partition(":")[0],
        {key: value for key, value in match.groupdict().items() if value is not None},
    )
