"""What the emulator remembers about the bot's calls, in shapes tests can assert on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ApiRequest:
    method: str
    params: dict
    chat_id: int | str | None = None


@dataclass(slots=True)
class SentDocument:
    chat_id: int
    message_id: int
    file_name: str
    data: bytes
    mime_type: str
    caption: str | None
    parse_mode: str | None
    file_id: str

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(slots=True)
class BotMessage:
    """One message the bot sent, or one edit of it (edited=True), in the order they happened.

    ``text`` is what the user sees (HTML parsed; the caption for documents); ``raw_text`` is
    what the bot sent. ``reply_markup`` is as sent (reply keyboards too), or after an edit the
    message's inline keyboard.
    """

    chat_id: int | None
    message_id: int | None
    method: str
    text: str
    raw_text: str
    parse_mode: str | None = None
    entities: list[dict] = field(default_factory=list)
    reply_markup: dict | None = None
    reply_to: int | None = None
    edited: bool = False
    document: SentDocument | None = None
    inline_message_id: str | None = None
    via_inline: bool = False
    """Posted by the user from an inline result (the bot only supplied the content)."""

    @property
    def buttons(self) -> list[dict]:
        """The inline keyboard's buttons, row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def button(self, label: str) -> dict:
        """The button whose label contains label (case-insensitive)."""
        for candidate in self.buttons:
            if label.lower() in candidate["text"].lower():
                return candidate
        raise LookupError(f"no button labelled {label!r} in {[b['text'] for b in self.buttons]}")


@dataclass(slots=True)
class CallbackAnswer:
    callback_query_id: str
    update_id: int | None
    data: str | None
    text: str | None = None
    show_alert: bool = False
    url: str | None = None


@dataclass(slots=True)
class InlineAnswer:
    inline_query_id: str
    update_id: int | None
    query: str | None
    results: list[dict]
    next_offset: str | None = None
    is_personal: bool = False
    cache_time: int | None = None
    button: dict | None = None
