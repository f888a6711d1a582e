"""What the fuzz tests send: simulated users, chats and hostile updates, as hypothesis
strategies. ``tests/test_fuzz.py`` and ``bench/fuzz_long.py`` run them against the real bot.
"""

from __future__ import annotations

from dataclasses import dataclass

from conftest import ADMIN_ID, BOT_USERNAME
from hypothesis import strategies as st

from emulator.telegram_html import utf16_len

PRIVATE_USERS = (101, 102, 103, ADMIN_ID)
GROUP_TYPES = {-1: "group", -2: "supergroup"}
"""Placeholders in generated actions: each use takes the next group of that type from a pool,
because the bot keeps Telegram's limit of 20 messages a minute per group
(bot.telegram.budget)."""
GROUP_POOL = 8
GROUP_ADMIN, GROUP_MEMBER = 201, 202
GROUP_USERS = (GROUP_ADMIN, GROUP_MEMBER, 101)
CHANNEL = -1009999
ODD_CHAT = -3
ODD_CHAT_BASE = -4200
LANGUAGES = ("en", "ru", "kk", "uk", "de", "ar", "he", "zh-hans", "pt-br", "")

HOSTILE = (
    # right-to-left, zero-width, combining, emoji, other scripts
    "\u202e",
    "\u200f",
    "\u061c",
    "مرحبا",
    "שלום",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "e\u0301\u0301\u0301",
    "\u0336" * 20,
    "Z\u0351\u0352\u0353\u0354",
    "👩‍👩‍👧‍👦",
    "🇰🇿",
    "🕯",
    "👍🏽",
    "\U0001f600",
    "中文",
    "\u00a0",
    "\u3000",
    "\t",
    "\n",
    "\r\n",
    "\x07",
    "\x1b[31m",
    "A" * 300,
    # HTML and Markdown metacharacters
    "<b>",
    "</b>",
    "<u>zz</u>",
    "<s>ss</s>",
    '<a href="javascript:x">',
    "<script>",
    "&",
    "&amp;",
    "&lt;",
    "&#0;",
    "<",
    ">",
    '"',
    "'",
    "<tg-spoiler>",
    '<pre><code class="x">',
    "*bold*",
    "_it_",
    "`code`",
    "```",
    "[x](tg://user?id=1)",
    "||spoiler||",
    "\\",
    "~",
    # what the bot understands, almost
    "Тулетаева",
    "Жаңаөзен",
    "Tuletaeva",
    "Dosmagambetov",
    "zhanaozen",
    "16.12",
    "16/12/2011",
    "29.02",
    "31.02.2011",
    "99.99",
    "0",
    "-1",
    "%s",
    "%(name)s",
    "{}",
    "{0}",
    "' OR 1=1 --",
    "../../etc/passwd",
    "@" + BOT_USERNAME,
    "@other_bot",
    "https://example.org/x?y=<z>",
)
COMMANDS = (
    "start",
    "help",
    "prisoners",
    "prisoner",
    "anniversaries",
    "anniversary",
    "today",
    "card",
    "language",
    "subscribe",
    "unsubscribe",
    "settings",
    "timezone",
    "calendar",
    "protests",
    "forget",
    "stats",
    "broadcast",
    "event_add",
    "event_cancel",
    "backup",
    "",
    "x",
    "a" * 40,
    "START",
    "stаrt",
    "start@other_bot",
    "frobnicate",
    "1",
    "_",
)
CALLBACK_ACTIONS = (
    "card",
    "list",
    "menu",
    "lang",
    "fix",
    "fixno",
    "rs",
    "ev",
    "adm",
    "share",
    "x",
    "",
)
CALLBACK_PIECES = (
    "sub",
    "unsub",
    "menu",
    "topic",
    "all",
    "dec16",
    "lead",
    "7",
    "1",
    "0",
    "365",
    "-1",
    "hour",
    "9",
    "23",
    "tz",
    "almaty",
    "utc",
    "zones",
    "tzother",
    "hours",
    "cities",
    "city",
    "*",
    "london",
    "ics",
    "forget",
    "forgetok",
    "p",
    "m",
    "a",
    "99999",
    "zhanaozen-massacre",
    "roza-tuletaeva",
    "nonexistent-card",
    "en",
    "ru",
    "de",
    "main",
    "help",
    "settings",
    "today",
    "language",
    "people",
    "list",
    "publish",
    "discard",
    "cancel",
    "skip",
    "-200",
    "101",
    "../",
    "",
)
ADMIN_FANOUTS = ("adm:bcok", "adm:cancelok")
"""Pressed by the admin these start a fan-out to everyone: other chats' messages would then
arrive while later examples are being checked. The admin flows are still fuzzed up to there."""
FILE_KINDS = (
    "sticker",
    "document",
    "photo",
    "voice",
    "location",
    "venue",
    "contact",
    "dice",
    "forward",
    "anonymous",
    "reply",
)
MEMBER_OPS = ("added", "added_admin", "removed", "blocked", "unblocked")


@dataclass(frozen=True)
class Action:
    kind: str
    chat: int
    user: int
    language: str = "en"
    text: str = ""
    data: str = ""
    ref: int = 0
    extra: str = ""

    def __repr__(self) -> str:  # huge texts would bury the failure message
        text = self.text if len(self.text) <= 80 else f"{self.text[:80]!r}…({len(self.text)})"
        return (
            f"Action({self.kind}, chat={self.chat}, user={self.user}, "
            f"lang={self.language!r}, text={text!r}, data={self.data!r}, ref={self.ref}, "
            f"extra={self.extra!r})"
        )


# Strategies ----------------------------------------------------------------------------------


def telegram_text(text: str) -> bool:
    """Telegram delivers 1-4096 UTF-16 units that are not all blank."""
    return bool(text.strip()) and utf16_len(text) <= 4096


def _huge(unit: str, count: int) -> str:
    text = unit * count
    while utf16_len(text) > 4096:
        text = text[: len(text) * 4096 // utf16_len(text) - 1]
    return text


hostile_text = st.lists(
    st.sampled_from(HOSTILE) | st.text(max_size=8), min_size=1, max_size=12
).map("".join)
command_text = st.builds(
    lambda name, at, sep, args: f"/{name}{at}{sep}{args}",
    st.sampled_from(COMMANDS),
    st.sampled_from(("", "", f"@{BOT_USERNAME}", "@other_bot", "@")),
    st.sampled_from((" ", " ", "", "\n", "  ")),
    hostile_text | st.text(max_size=30) | st.just(""),
)
huge_text = st.builds(
    _huge, st.sampled_from((*HOSTILE[:30], "a", "Жа", "<b>x</b>")), st.integers(500, 4096)
)
texts = st.one_of(
    st.text(min_size=1, max_size=60), hostile_text, command_text, command_text, huge_text
).filter(telegram_text)
languages = st.sampled_from(LANGUAGES)
where = st.one_of(
    st.sampled_from(PRIVATE_USERS).map(lambda user: (user, user)),
    st.tuples(st.sampled_from(tuple(GROUP_TYPES)), st.sampled_from(GROUP_USERS)),
)
callback_data = st.one_of(
    st.builds(
        lambda action, pieces: ":".join([action, *pieces]),
        st.sampled_from(CALLBACK_ACTIONS),
        st.lists(st.sampled_from(CALLBACK_PIECES), max_size=4),
    ),
    st.builds(
        lambda action, rest: f"{action}:{rest}",
        st.sampled_from(CALLBACK_ACTIONS),
        st.text(max_size=40),
    ),
    st.text(min_size=1, max_size=70),
)


def _action(kind: str, **fields) -> st.SearchStrategy[Action]:
    def make(place: tuple[int, int], **values) -> Action:
        return Action(kind, place[0], place[1], **values)

    return st.builds(make, where, **fields)


message_actions = st.one_of(
    _action("message", language=languages, text=texts),
    _action("message", language=languages, text=command_text),
    _action("edit", language=languages, text=texts, ref=st.integers(0, 50)),
)
button_actions = st.one_of(
    _action("press", language=languages, data=callback_data, ref=st.integers(0, 50)),
    _action("replay", language=languages, ref=st.integers(0, 10_000)),
    _action("gone", language=languages, ref=st.integers(0, 10_000)),
    _action("message", language=languages, text=command_text),
)
other_actions = st.one_of(
    st.builds(
        lambda user, lang, query, offset, chat_type: Action(
            "inline", user, user, lang, query, offset, extra=chat_type
        ),
        st.sampled_from((*PRIVATE_USERS, *GROUP_USERS)),
        languages,
        st.one_of(st.just(""), st.text(max_size=256), hostile_text.map(lambda t: t[:256])),
        st.one_of(st.just(""), st.integers(-5, 10**6).map(str), st.text(max_size=20)),
        st.sampled_from(("sender", "private", "group", "supergroup", "channel", "")),
    ),
    st.builds(lambda text: Action("channel", CHANNEL, 0, text=text), texts),
    _action(
        "file",
        language=languages,
        text=texts,
        extra=st.sampled_from(FILE_KINDS),
        ref=st.integers(0, 50),
    ),
    st.builds(
        lambda user, lang, text, chat_type: Action(
            "odd_chat", ODD_CHAT, user, lang, text, extra=chat_type
        ),
        st.sampled_from(GROUP_USERS),
        languages,
        st.one_of(command_text, texts),
        st.sampled_from(("mystery", "gigagroup", "secret", "sender")),
    ),
    _action("member", extra=st.sampled_from(MEMBER_OPS)),
)
ACTIONS = {"messages": message_actions, "buttons": button_actions, "other": other_actions}
