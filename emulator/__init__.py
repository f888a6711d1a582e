"""A local Telegram Bot API for tests, benchmarks and the terminal sandbox.

    async with Emulator() as emulator:
        app = Application.builder().token("123:ABC").base_url(emulator.base_url).build()
        ...
        emulator.user_message(42, "/start")
        reply = await emulator.next_message(42)

It validates every call against the vendored Bot API spec and Telegram's published limits
(``emulator.violations``), simulates users (``user_message``, ``press``, ``inline_query``...),
records what the bot did (``sent``, ``documents``, ``callback_answers``...), and can inject
Telegram's failures (``inject``, ``rate_limit``).
"""

from .faults import ApiError, Fault, RateLimiter
from .records import ApiRequest, BotMessage, CallbackAnswer, InlineAnswer, SentDocument
from .server import Emulator
from .spec import UploadedFile, load_spec
from .telegram_html import HtmlParseError, ParsedText, parse_html
from .thread import EmulatorThread

__all__ = [
    "ApiError",
    "ApiRequest",
    "BotMessage",
    "CallbackAnswer",
    "Emulator",
    "EmulatorThread",
    "Fault",
    "HtmlParseError",
    "InlineAnswer",
    "ParsedText",
    "RateLimiter",
    "SentDocument",
    "UploadedFile",
    "load_spec",
    "parse_html",
]
