"""Telegram's HTML parse_mode, as strict as the published rules.

Telegram silently repairs some sloppy markup and rejects the rest with "can't parse
entities"; a bot that relies on the repairs breaks when a card's text changes. So this parser
accepts only what https://core.telegram.org/bots/api#html-style documents: the listed tags,
properly nested and closed, the four named entities plus numeric ones, and no stray '<' or
'&'. Error messages follow tdlib's wording and byte offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
OTHER_TAGS = {"span", "a", "code", "pre", "blockquote", "tg-emoji", "tg-time"}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
ENTITY_RE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
NAME_RE = re.compile(r"[a-zA-Z0-9_-]*")


class HtmlParseError(ValueError):
    """The text would be rejected by Telegram with "can't parse entities"."""


@dataclass(frozen=True, slots=True)
class ParsedText:
    text: str
    entities: list[dict] = field(default_factory=list)
    """MessageEntity dicts with offsets and lengths in UTF-16 code units, as Telegram sends."""


@dataclass(slots=True)
class _Open:
    tag: str
    start: int  # UTF-16 offset in the output
    attrs: dict[str, str]
    language: str | None = None  # set by a <code class="language-x"> inside <pre>


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_to_index(text: str, offset: int) -> int:
    """Python string index of a UTF-16 offset (entities count astral characters twice)."""
    units = 0
    for index, char in enumerate(text):
        if units >= offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def entity_spans(text: str, entities: list[dict]) -> list[tuple[int, int, dict]]:
    """(start, end, entity) with Python indices, for code that slices the plain text."""
    spans = []
    for entity in entities:
        start = utf16_to_index(text, entity["offset"])
        end = utf16_to_index(text, entity["offset"] + entity["length"])
        spans.append((start, end, entity))
    return spans


def unescape_attribute(value: str) -> str:
    """Decode entities in an attribute value. A bare '&' is part of the tag here (think of
    query strings in href), so Telegram keeps it, and so do we."""

    def decode(match: re.Match) -> str:
        decimal, hexadecimal, name = match.groups()
        if name is not None:
            return NAMED_ENTITIES.get(name, match.group(0))
        code = int(decimal) if decimal is not None else int(hexadecimal, 16)
        valid = 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF
        return chr(code) if valid else match.group(0)

    return ENTITY_RE.sub(decode, value)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _entity(source: str, index: int) -> tuple[str, int]:
    match = ENTITY_RE.match(source, index)
    where = _byte_offset(source, index)
    if not match:
        raise HtmlParseError(f'Unescaped "&" at byte offset {where}: write &amp; instead')
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in NAMED_ENTITIES:
            raise HtmlParseError(
                f'Unsupported HTML entity "&{name};" at byte offset {where}; '
                "only &lt; &gt; &amp; &quot; and numeric entities are allowed"
            )
        return NAMED_ENTITIES[name], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlParseError(f"Invalid numeric HTML entity at byte offset {where}")
    return chr(code), match.end()


def parse_html(source: str) -> ParsedText:
    """Return the text Telegram would show and its entities, or raise HtmlParseError."""
    out: list[str] = []
    units = 0  # UTF-16 length of out
    stack: list[_Open] = []
    entities: list[dict] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "&":
            decoded, index = _entity(source, index)
        elif char == "<":
            if source.startswith("</", index):
                index = _close_tag(source, index, stack, entities, units)
            else:
                index = _open_tag(source, index, stack, units)
            continue
        else:
            next_special = min(
                (pos for pos in (source.find("<", index), source.find("&", index)) if pos >= 0),
                default=len(source),
            )
            decoded, index = source[index:next_special], next_special
        out.append(decoded)
        units += utf16_len(decoded)
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities)


def _open_tag(source: str, index: int, stack: list[_Open], units: int) -> int:
    where = _byte_offset(source, index)
    name_match = NAME_RE.match(source, index + 1)
    assert name_match is not None  # the pattern matches the empty string too
    tag = name_match.group(0).lower()
    if tag not in SIMPLE_TAGS and tag not in OTHER_TAGS:
        raise HtmlParseError(
            f'Unsupported start tag "{tag}" at byte offset {where}'
            + ("; write &lt; for a literal '<'" if not tag else "")
        )
    attrs, index = _attributes(source, name_match.end(), tag, where)
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise HtmlParseError(
            f'Unsupported start tag "span" at byte offset {where}: only '
            '<span class="tg-spoiler"> is allowed'
        )
    if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
        raise HtmlParseError(f'Tag "tg-emoji" at byte offset {where} needs a numeric emoji-id')
    if tag == "tg-time" and not attrs.get("unix", "").isdigit():
        raise HtmlParseError(f'Tag "tg-time" at byte offset {where} needs a numeric unix time')
    if tag == "code" and "class" in attrs and not attrs["class"].startswith("language-"):
        raise HtmlParseError(f'Tag "code" at byte offset {where} allows only class="language-..."')
    stack.append(_Open(tag, units, attrs))
    return index


def _attributes(source: str, index: int, tag: str, where: int) -> tuple[dict[str, str], int]:
    """Attributes as tdlib reads them: ``name="value"`` or ``name='value'``; an unquoted
    value may hold only letters, digits, '.' and '-' (so ``href=https://…`` is rejected); a
    name without '=' is an error, except ``expandable`` on a blockquote."""
    attrs: dict[str, str] = {}
    while True:
        while index < len(source) and source[index].isspace():
            index += 1
        if index >= len(source):
            raise HtmlParseError(f"Unclosed start tag at byte offset {where}")
        if source[index] == ">":
            return attrs, index + 1
        end = index
        while end < len(source) and not source[end].isspace() and source[end] not in "=>":
            end += 1
        name = source[index:end].lower()
        if not name or not NAME_RE.fullmatch(name):
            raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {where}')
        index = end
        while index < len(source) and source[index].isspace():
            index += 1
        if not source.startswith("=", index):
            if tag == "blockquote" and name == "expandable":
                attrs[name] = ""
                continue
            raise HtmlParseError(
                f"Expected equal sign in declaration of an attribute of the "
                f'tag "{tag}" at byte offset {where}'
            )
        index += 1
        while index < len(source) and source[index].isspace():
            index += 1
        if index >= len(source):
            raise HtmlParseError(f"Unclosed start tag at byte offset {where}")
        if source[index] in "\"'":
            end = source.find(source[index], index + 1)
            if end < 0:
                raise HtmlParseError(f"Unclosed start tag at byte offset {where}")
            value, index = unescape_attribute(source[index + 1 : end]), end + 1
        else:
            end = index
            while end < len(source) and (source[end].isalnum() or source[end] in ".-"):
                end += 1
            if end < len(source) and not source[end].isspace() and source[end] != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(source, index)}"
                )
            value, index = source[index:end].lower(), end
        attrs[name] = value


def _close_tag(
    source: str, index: int, stack: list[_Open], entities: list[dict], units: int
) -> int:
    where = _byte_offset(source, index)
    name_match = NAME_RE.match(source, index + 2)
    assert name_match is not None  # the pattern matches the empty string too
    tag = name_match.group(0).lower()
    end = name_match.end()
    while end < len(source) and source[end].isspace():
        end += 1
    if end >= len(source) or source[end] != ">":
        raise HtmlParseError(f"Unclosed end tag at byte offset {where}")
    if not stack:
        raise HtmlParseError(f"Unexpected end tag at byte offset {where}")
    if stack[-1].tag != tag:
        raise HtmlParseError(
            f"Unmatched end tag at byte offset {where}, expected "
            f'"</{stack[-1].tag}>", found "</{tag}>"'
        )
    opened = stack.pop()
    length = units - opened.start
    entity = _entity_for(opened, stack)
    if entity is not None and length > 0:
        entities.append(
            {"type": entity.pop("type"), "offset": opened.start, "length": length, **entity}
        )
    return end + 1


def _entity_for(opened: _Open, stack: list[_Open]) -> dict | None:
    tag, attrs = opened.tag, opened.attrs
    if tag in SIMPLE_TAGS or tag == "span":
        return {"type": SIMPLE_TAGS.get(tag, "spoiler")}
    if tag == "a":
        return {"type": "text_link", "url": attrs["href"]} if attrs.get("href") else None
    if tag == "code":
        language = attrs.get("class", "").removeprefix("language-")
        if stack and stack[-1].tag == "pre":  # Telegram folds it into the pre entity
            stack[-1].language = language or stack[-1].language
            return None
        return {"type": "code"}
    if tag == "pre":
        return {"type": "pre", "language": opened.language} if opened.language else {"type": "pre"}
    if tag == "blockquote":
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    if tag == "tg-emoji":
        return {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}
    entity: dict = {"type": "date_time", "unix_time": int(attrs["unix"])}
    if attrs.get("format"):
        entity["date_time_format"] = attrs["format"]
    return entity
