"""Reject what the real Bot API rejects: wrong shapes (from the spec) and published limits.

Each problem is a short description in Telegram's words where it has some ("message is too
long", "BUTTON_DATA_INVALID"), plus where in the request it is, so a failing test says what to
fix without a trip to the documentation.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from .spec import Spec
from .telegram_html import HtmlParseError, ParsedText, parse_html

MESSAGE_MAX = 4096
CAPTION_MAX = 1024
CALLBACK_DATA_MAX_BYTES = 64
CALLBACK_ANSWER_MAX = 200
INLINE_RESULTS_MAX = 50
INLINE_RESULT_ID_MAX_BYTES = 64
INLINE_NEXT_OFFSET_MAX_BYTES = 64
KEYBOARD_BUTTONS_MAX = 100
COMMANDS_MAX = 100
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
COMMAND_DESCRIPTION_MAX = 256
DESCRIPTION_MAX = {
    "setMyDescription": ("description", 512),
    "setMyShortDescription": ("short_description", 120),
    "setMyName": ("name", 64),
}
LANGUAGE_CODE_RE = re.compile(r"[a-z]{2}")
START_PARAMETER_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
PARSE_MODES = {"html", "markdownv2", "markdown"}
BUTTON_STYLES = {"danger", "success", "primary"}
BUTTON_URL_SCHEMES = {"http", "https", "tg"}
NOT_ACTIONS = {"text", "icon_custom_emoji_id", "style"}


def parse_formatted(text: str, parse_mode: str | None) -> ParsedText:
    """Text as shown to users. Only HTML is parsed; Markdown is measured as sent."""
    if parse_mode and parse_mode.lower() == "html":
        return parse_html(text)
    return ParsedText(text, [])


def validate(spec: Spec, method: str, params: dict) -> list[str]:
    """Everything Telegram would answer 400 for, or [] when the request is acceptable."""
    problems = spec.check_params(method, params)
    if problems:  # the limit checks below rely on the shapes being right
        return problems
    checker = _Checker(spec)
    checker.check(method, params)
    return checker.problems


class _Checker:
    def __init__(self, spec: Spec) -> None:
        fields = spec.types["InlineKeyboardButton"]["fields"]
        self.actions = [name for name in fields if name not in NOT_ACTIONS]
        self.problems: list[str] = []

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    def check(self, method: str, params: dict) -> None:
        if method in ("sendMessage", "editMessageText"):
            self.text(
                params["text"],
                params.get("parse_mode"),
                "message text",
                "text",
                minimum=1,
                maximum=MESSAGE_MAX,
            )
        if isinstance(params.get("caption"), str):
            self.text(
                params["caption"],
                params.get("parse_mode"),
                "message caption",
                "caption",
                minimum=0,
                maximum=CAPTION_MAX,
            )
        if isinstance(params.get("reply_markup"), dict):
            self.keyboard(params["reply_markup"], "reply_markup")
        language = params.get("language_code")
        if isinstance(language, str) and language and not LANGUAGE_CODE_RE.fullmatch(language):
            self.add(f"language_code: {language!r} is not a two-letter ISO 639-1 code")
        if method == "answerInlineQuery":
            self.inline_answer(params)
        elif method == "answerCallbackQuery":
            self.limit(params.get("text"), CALLBACK_ANSWER_MAX, "text")
        elif method == "setMyCommands":
            self.commands(params["commands"])
        elif method in DESCRIPTION_MAX:
            name, maximum = DESCRIPTION_MAX[method]
            self.limit(params.get(name), maximum, name)
        elif method == "setWebhook":
            self.webhook(params)
        elif method == "getUpdates":
            limit = params.get("limit", 100)
            if not 1 <= limit <= 100:
                self.add(f"limit: {limit} is outside 1-100")

    def webhook(self, params: dict) -> None:
        if params["url"] and not params["url"].startswith("https://"):
            self.add("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_TOKEN_RE.fullmatch(secret):
            self.add("secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")

    def limit(self, value: str | None, maximum: int, path: str) -> None:
        if value is not None and len(value) > maximum:
            self.add(f"{path}: too long ({len(value)} characters, max {maximum})")

    def text(
        self,
        value: str,
        parse_mode: str | None,
        what: str,
        path: str,
        *,
        minimum: int,
        maximum: int,
    ) -> None:
        if parse_mode is not None and parse_mode.lower() not in PARSE_MODES:
            self.add(f"unsupported parse_mode {parse_mode!r} (in {path})")
            return
        try:
            parsed = parse_formatted(value, parse_mode)
        except HtmlParseError as error:
            self.add(f"can't parse entities: {error} (in {path})")
            return
        if minimum and not parsed.text.strip():
            self.add(f"{what} is empty (in {path})")
        elif len(parsed.text) > maximum:
            self.add(
                f"{what} is too long: {len(parsed.text)} characters after entity parsing, "
                f"max {maximum} (in {path})"
            )
        for entity in parsed.entities:
            if entity["type"] == "text_link":
                self.start_parameter_in_url(entity["url"], f"{path} link")

    def keyboard(self, markup: dict, path: str) -> None:
        rows = markup.get("inline_keyboard")
        if rows is None:
            return
        count = 0
        for row_index, row in enumerate(rows):
            for column, button in enumerate(row):
                count += 1
                self.button(button, f"{path}.inline_keyboard[{row_index}][{column}]")
        if count > KEYBOARD_BUTTONS_MAX:
            self.add(
                f"reply markup is too long: {count} buttons, max {KEYBOARD_BUTTONS_MAX} "
                f"(in {path})"
            )

    def button(self, button: dict, path: str) -> None:
        actions = [name for name in self.actions if name in button]
        if len(actions) != 1:
            found = ", ".join(actions) or "none"
            self.add(
                f"can't parse inline keyboard button: it needs exactly one of callback_data, "
                f"url, switch_inline_query..., found {found} (in {path})"
            )
        if not button["text"].strip():
            self.add(f"BUTTON_TEXT_INVALID: empty button label (in {path})")
        if "style" in button and button["style"] not in BUTTON_STYLES:
            self.add(f"style must be one of {', '.join(sorted(BUTTON_STYLES))} (in {path})")
        if "callback_data" in button:
            size = len(button["callback_data"].encode("utf-8"))
            if not 1 <= size <= CALLBACK_DATA_MAX_BYTES:
                self.add(
                    f"BUTTON_DATA_INVALID: callback_data is {size} bytes, must be "
                    f"1-{CALLBACK_DATA_MAX_BYTES} (in {path})"
                )
        if "url" in button:
            url = button["url"]
            if urlsplit(url).scheme.lower() not in BUTTON_URL_SCHEMES or " " in url:
                self.add(f"BUTTON_URL_INVALID: {url[:80]!r} (in {path})")
            self.start_parameter_in_url(url, path)

    def start_parameter_in_url(self, url: str, path: str) -> None:
        parts = urlsplit(url)
        if parts.netloc.lower() not in ("t.me", "telegram.me", "www.t.me"):
            return
        for key in ("start", "startgroup"):
            for value in parse_qs(parts.query, keep_blank_values=True).get(key, []):
                self.start_parameter(value, f"{path} {key}=")

    def start_parameter(self, value: str, path: str) -> None:
        if not START_PARAMETER_RE.fullmatch(value):
            self.add(
                f"start parameter {value[:80]!r} must be 1-64 characters of A-Z, a-z, 0-9, "
                f"_ and - (in {path})"
            )

    def inline_answer(self, params: dict) -> None:
        results = params["results"]
        if len(results) > INLINE_RESULTS_MAX:
            self.add(f"RESULTS_TOO_MUCH: {len(results)} results, max {INLINE_RESULTS_MAX}")
        seen: set[str] = set()
        for index, result in enumerate(results):
            self.inline_result(result, f"results[{index}]", seen)
        offset = params.get("next_offset")
        if offset is not None and len(offset.encode("utf-8")) > INLINE_NEXT_OFFSET_MAX_BYTES:
            self.add(f"next_offset: longer than {INLINE_NEXT_OFFSET_MAX_BYTES} bytes")
        button = params.get("button")
        if button is not None and "start_parameter" in button:
            self.start_parameter(button["start_parameter"], "button.start_parameter")

    def inline_result(self, result: dict, path: str, seen: set[str]) -> None:
        result_id = result["id"]
        size = len(result_id.encode("utf-8"))
        if not 1 <= size <= INLINE_RESULT_ID_MAX_BYTES:
            self.add(
                f"RESULT_ID_INVALID: id is {size} bytes, must be "
                f"1-{INLINE_RESULT_ID_MAX_BYTES} (in {path})"
            )
        if result_id in seen:
            self.add(f"RESULT_ID_DUPLICATE: id {result_id!r} (in {path})")
        seen.add(result_id)
        if "title" in result and not str(result["title"]).strip():
            self.add(f"RESULT_TITLE_EMPTY: empty title (in {path})")
        if isinstance(result.get("caption"), str):
            self.text(
                result["caption"],
                result.get("parse_mode"),
                "caption",
                f"{path}.caption",
                minimum=0,
                maximum=CAPTION_MAX,
            )
        content = result.get("input_message_content")
        if isinstance(content, dict) and "message_text" in content:
            self.text(
                content["message_text"],
                content.get("parse_mode"),
                "message text",
                f"{path}.input_message_content.message_text",
                minimum=1,
                maximum=MESSAGE_MAX,
            )
        if isinstance(result.get("reply_markup"), dict):
            self.keyboard(result["reply_markup"], f"{path}.reply_markup")

    def commands(self, commands: list[dict]) -> None:
        if len(commands) > COMMANDS_MAX:
            self.add(f"BOT_COMMANDS_TOO_MUCH: {len(commands)} commands, max {COMMANDS_MAX}")
        for index, command in enumerate(commands):
            path = f"commands[{index}]"
            if not COMMAND_RE.fullmatch(command["command"]):
                self.add(
                    f"BOT_COMMAND_INVALID: {command['command']!r} must be 1-32 characters "
                    f"of a-z, 0-9 and _ (in {path})"
                )
            description = command["description"]
            if not description.strip() or len(description) > COMMAND_DESCRIPTION_MAX:
                self.add(
                    f"BOT_COMMAND_DESCRIPTION_INVALID: description must be 1-"
                    f"{COMMAND_DESCRIPTION_MAX} characters (in {path})"
                )
