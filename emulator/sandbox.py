"""Chat with the bot in a terminal: no Telegram account, no token, no network.

The real application runs against the local Bot API emulator; what you type is sent as a
private-chat message from a simulated user, and the bot's messages come back as plain text
with numbered buttons. Works with piped input too (one line per action), which is how tests
drive it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import inspect
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from emulator import BotMessage, CallbackAnswer, Emulator
from emulator.telegram_html import entity_spans

SANDBOX_TOKEN = "123456:SANDBOX-TOKEN"
SANDBOX_USER_ID = 100001
TOKEN_HINT = (
    "No BOT_TOKEN set, so this is the local sandbox. To run the real bot, talk to "
    "@BotFather in Telegram, create a bot and set BOT_TOKEN to the token it gives you."
)
HELP = (
    "Type a message or a command such as /start. A number presses button [n]; "
    "'@bot words' runs an inline query. Sandbox commands: /lang ru (your Telegram "
    "language), /reveal (show spoilers), /quit (or Ctrl-D)."
)
SPOILER = "▒▒▒ [spoiler]"
BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query_chosen_chat",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "copy_text",
    "web_app",
    "login_url",
)


def language_from_env(environ: dict[str, str] | None = None) -> str:
    """Two-letter code from LANG (ru_RU.UTF-8 → ru); English for C/POSIX or nothing."""
    env = os.environ if environ is None else environ
    value = env.get("LC_ALL") or env.get("LANG") or ""
    match = re.match(r"([a-z]{2})(?:[_.@-]|$)", value.lower())
    return match.group(1) if match else "en"


def render_text(text: str, entities: list[dict], *, reveal: bool = False) -> str:
    """Plain text for a terminal: spoilers hidden, link targets shown after their label."""
    hidden = [False] * len(text)
    spoiler_starts: set[int] = set()
    suffix: dict[int, str] = {}
    for start, end, entity in entity_spans(text, entities):
        if entity["type"] == "spoiler" and not reveal and end > start:
            spoiler_starts.add(start)
            for index in range(start, end):
                hidden[index] = True
        elif entity["type"] == "text_link" and end > start:
            url = entity["url"]
            if url not in text[start:end]:
                suffix[end - 1] = suffix.get(end - 1, "") + f" ({url})"
    out = []
    for index, char in enumerate(text):
        if hidden[index]:
            if index in spoiler_starts and (index == 0 or not hidden[index - 1]):
                out.append(SPOILER)
            continue
        out.append(char + suffix.get(index, ""))
    return "".join(out)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _size(count: int) -> str:
    return f"{count} bytes" if count < 1024 else f"{count / 1024:.1f} kB"


@dataclasses.dataclass
class Choice:
    label: str
    kind: str
    value: Any
    record: BotMessage | None = None


class Terminal:
    """Prints the bot's side of the chat and turns typed lines into user actions."""

    def __init__(
        self,
        emulator: Emulator,
        out: TextIO,
        *,
        language: str,
        reveal: bool = False,
        user_id: int = SANDBOX_USER_ID,
        echo: bool = False,
    ) -> None:
        self.emulator = emulator
        self.out = out
        self.echo = echo
        """Repeat typed lines, so a transcript of piped input reads like a chat."""
        self.language = language
        self.reveal = reveal
        self.user_id = user_id
        self.choices: list[Choice] = []
        self.last: BotMessage | None = None

    def say(self, text: str) -> None:
        try:
            print(text, file=self.out, flush=True)
        except UnicodeEncodeError:  # a terminal that cannot show Cyrillic or ▒
            encoding = getattr(self.out, "encoding", None) or "ascii"
            print(text.encode(encoding, "replace").decode(encoding), file=self.out, flush=True)

    def on_event(self, event: str, payload: Any) -> None:
        if event == "message" and payload.chat_id in (self.user_id, None):
            self.show(payload)
        elif event == "delete" and payload[0] == self.user_id:
            self.say("  (the bot deleted a message)")
        elif event == "callback_answer" and isinstance(payload, CallbackAnswer):
            if payload.text:
                self.say(f"  [{'alert' if payload.show_alert else 'notification'}] {payload.text}")
            if payload.url:
                self.say(f"  (opens {payload.url})")
        elif event == "violation":
            self.say(f"  ! Bot API violation: {payload}")

    def show(self, record: BotMessage) -> None:
        self.last = record
        who = (
            f"you via @{self.emulator.username}"
            if record.via_inline
            else "bot (edited)"
            if record.edited
            else "bot"
        )
        lines = []
        if record.document is not None:
            lines.append(f"[file] {record.document.file_name} ({_size(record.document.size)})")
        if record.text:
            lines += render_text(record.text, record.entities, reveal=self.reveal).split("\n")
        lines = lines or ["(empty message)"]
        indent = " " * (len(who) + 2)
        self.say(f"{who}: {lines[0]}" + "".join(f"\n{indent}{line}" for line in lines[1:]))
        rows = (record.reply_markup or {}).get("inline_keyboard", [])
        owner = self.choices[0].record if self.choices else None
        if (
            not rows
            and owner is not None
            and record.edited
            and (
                (owner.chat_id, owner.message_id, owner.inline_message_id)
                == (record.chat_id, record.message_id, record.inline_message_id)
            )
        ):
            self.choices = []  # its keyboard is gone
        if rows:
            self.choices = []
            for row in rows:
                cells = []
                for button in row:
                    kind = next((k for k in BUTTON_ACTIONS if k in button), "other")
                    self.choices.append(Choice(button["text"], kind, button.get(kind), record))
                    cells.append(f"[{len(self.choices)}] {button['text']}")
                self.say("  " + "   ".join(cells))

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False means quit."""
        if self.echo:
            self.say(f"you: {line}")
        command, _, rest = line.partition(" ")
        if command in ("/quit", "/exit"):
            return False
        if command == "/lang":
            self.set_language(rest.strip())
        elif command == "/reveal":
            self.reveal = not self.reveal
            self.say(f"  (spoilers are now {'shown' if self.reveal else 'hidden'})")
            if (
                self.reveal
                and self.last is not None
                and any(entity["type"] == "spoiler" for entity in self.last.entities)
            ):
                self.show(self.last)
        elif command in ("/sandbox", "/?"):
            self.say(HELP)
        elif line.isdecimal():
            await self.choose(int(line))
        elif command.lower() in ("@bot", f"@{self.emulator.username.lower()}"):
            await self.inline(rest.strip())
        else:
            update_id = self.emulator.user_message(
                self.user_id, line, user_id=self.user_id, language_code=self.language
            )
            await self.emulator.wait_idle(update_id)
        return True

    def set_language(self, code: str) -> None:
        if not re.fullmatch(r"[a-z]{2}", code):
            self.say(f"  (your Telegram language is {self.language}; change it with /lang ru)")
            return
        self.language = code
        self.say(f"  (your Telegram language is now {code})")

    async def choose(self, number: int) -> None:
        if not 1 <= number <= len(self.choices):
            self.say(
                f"  (no button [{number}]"
                + (f"; choose 1-{len(self.choices)})" if self.choices else " to press)")
            )
            return
        choice = self.choices[number - 1]
        if choice.kind == "callback_data":
            record = choice.record
            assert record is not None  # a button always belongs to a message
            if record.inline_message_id:
                update_id = self.emulator.press_inline(
                    record.inline_message_id,
                    choice.value,
                    user_id=self.user_id,
                    language_code=self.language,
                    strict=False,
                )
            else:
                assert record.chat_id is not None and record.message_id is not None
                update_id = self.emulator.press(
                    record.chat_id,
                    record.message_id,
                    choice.value,
                    user_id=self.user_id,
                    language_code=self.language,
                    strict=False,
                )
            await self.emulator.wait_idle(update_id)
        elif choice.kind.startswith("switch_inline_query"):
            value = choice.value
            await self.inline((value.get("query") if isinstance(value, dict) else value) or "")
        elif choice.kind == "result":
            query_update_id, result_id = choice.value
            update_id = self.emulator.post_inline_result(
                query_update_id, result_id, self.user_id, language_code=self.language
            )
            await self.emulator.wait_idle(update_id)
        elif choice.kind == "more":
            await self.inline(*choice.value)
        elif choice.kind == "copy_text":
            self.say(f"  (copied to the clipboard: {choice.value.get('text', '')})")
        elif choice.kind in ("url", "web_app", "login_url"):
            url = choice.value if isinstance(choice.value, str) else choice.value.get("url")
            self.say(f"  (opens {url})")
        else:
            self.say("  (the sandbox cannot press this kind of button)")

    async def inline(self, query: str, offset: str = "") -> None:
        if not self.emulator.supports_inline_queries:
            self.say("  (inline mode is off for this bot)")
            return
        update_id = self.emulator.inline_query(
            self.user_id, query, offset=offset, language_code=self.language
        )
        try:
            answer = await self.emulator.wait_inline_answer(update_id, timeout=10)
        except TimeoutError:
            self.say(f'  (the bot did not answer the inline query "{query}")')
            return
        if not answer.results:
            self.say(f'  (no inline results for "{query}")')
            return
        self.say(f'Inline results for "{query}" (type a number to send one):')
        self.choices = []
        for result in answer.results:
            title = result.get("title") or result["id"]
            description = f" - {result['description']}" if result.get("description") else ""
            self.choices.append(Choice(title, "result", (update_id, result["id"])))
            self.say(f"  [{len(self.choices)}] {title}{description}")
        if answer.next_offset:
            self.choices.append(Choice("more", "more", (query, answer.next_offset)))
            self.say(f"  [{len(self.choices)}] more results...")


def _read_lines(
    stream: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]
) -> None:
    """Blocking reads in a daemon thread, so the event loop (and the bot) keep running."""
    try:
        for line in iter(stream.readline, ""):
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\r\n"))
    except (OSError, ValueError):
        pass
    with contextlib.suppress(RuntimeError):  # the loop may already be closed
        loop.call_soon_threadsafe(queue.put_nowait, None)


async def _until(task: asyncio.Future, stop: asyncio.Event) -> bool:
    """Wait for task unless stop is set first (then cancel it); True if the task finished."""
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        task.cancel()
        return False
    return True


async def _chat(terminal: Terminal, stdin: TextIO, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(
        target=_read_lines, args=(stdin, loop, lines), name="sandbox-stdin", daemon=True
    ).start()
    while True:
        next_line = asyncio.ensure_future(lines.get())
        if not await _until(next_line, stop) or (line := next_line.result()) is None:
            return
        if not line.strip():
            continue
        action = asyncio.ensure_future(terminal.handle(line.strip()))
        if not await _until(action, stop) or not action.result():
            return


async def run_sandbox_async(
    config: Any,
    *,
    language: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    admin: bool = False,
    build: Callable[[Any], Any] | None = None,
) -> None:
    """Run the bot against a local emulator and chat with it until EOF, /quit or Ctrl-C.

    build defaults to bot.app.build_application (started with bot.app.start_application);
    it gets config with the sandbox token and the emulator's URL, and with admin=True the
    sandbox user among the admins.
    """
    out = stdout or sys.stdout
    print(TOKEN_HINT, file=out, flush=True)
    from bot.app import build_application, start_application, stop_application

    build = build or build_application
    start, stop_app = start_application, stop_application
    loop = asyncio.get_running_loop()
    async with Emulator(token=SANDBOX_TOKEN) as emulator:
        stdin = stdin or sys.stdin
        terminal = Terminal(
            emulator, out, language=language or language_from_env(), echo=not _is_terminal(stdin)
        )
        emulator.listeners.append(terminal.on_event)
        changes: dict[str, Any] = {"token": SANDBOX_TOKEN, "api_url": emulator.root_url}
        if admin:
            changes["admin_ids"] = frozenset(config.admin_ids) | {SANDBOX_USER_ID}
        application = build(dataclasses.replace(config, **changes))
        if inspect.isawaitable(application):
            application = await application
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, stop.set)
        try:
            await start(application)
            terminal.say(HELP)
            await _chat(terminal, stdin, stop)
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)
            terminal.say("Bye.")
            await stop_app(application)
            emulator.listeners.remove(terminal.on_event)


def run_sandbox(config: Any, *, language: str | None = None, admin: bool = False) -> int:
    """The synchronous entry point used by ``python -m bot`` when there is no token."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_sandbox_async(config, language=language, admin=admin))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m emulator.sandbox [--lang ru] [--admin]``."""
    from bot.config import ConfigError, load_config

    parser = argparse.ArgumentParser(prog="python -m emulator.sandbox", description=__doc__)
    parser.add_argument("--lang", help="your simulated Telegram language (default: from LANG)")
    parser.add_argument("--admin", action="store_true", help="make the sandbox user a bot admin")
    args = parser.parse_args(argv)
    try:
        config = load_config()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    return run_sandbox(config, language=args.lang, admin=args.admin)


if __name__ == "__main__":
    sys.exit(main())
