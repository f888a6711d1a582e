"""Chats in memory: each of the 1,024 shard tables of ``chats.json`` kept as its line of the file.

A chat's settings are a small document (``bot.store.models.encode_settings``); as Python dicts,
100,000 of them took about 60 MB (a dict, its strings and its key: ~600 bytes a chat), more
than the rest of the bot together. Kept as the bytes of their line of ``chats.json`` (``"c5":
{"1000005":{...},...}``, about 70 bytes a chat) they take 7 MB, opening the store makes no
Python object per chat, and a flush writes the lines as they are, re-encoding nothing.

The file is the same: a table per line, the documents as before; only the memory changed.
Every line is parsed and checked when the file is read (``bot.store.files``), then packed
(``pack``). A line is immutable bytes: a write replaces the line of its shard (decoded,
changed, encoded again: ~0.1 ms), so the flushing thread and the sweeps' worker threads read
a consistent line while the event loop goes on.

Reads decode what they need: one chat's document is found in its line by its key and parsed
alone (a few µs, not the 50 µs of the whole line); sweeps decode a line at a time, so only
one shard's dicts exist at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from bot.store.files import EncodedTable

CHAT_SHARDS = 1024
"""A write re-encodes its shard's line (about 100 chats at 100,000), not the whole table."""

Document = Mapping[str, Any]


def shard_name(chat_id: int) -> str:
    return f"c{chat_id % CHAT_SHARDS}"


def _is_shard(name: str) -> bool:
    return name[:1] == "c" and name[1:].isdecimal() and int(name[1:]) < CHAT_SHARDS


def encode_shard(name: str, docs: Mapping[str, Document]) -> EncodedTable:
    # the concatenation is sized exactly; orjson's own buffer is not
    return EncodedTable(orjson.dumps(name) + b":" + orjson.dumps(docs), len(docs))


def pack(name: str, table: dict[str, Any]) -> Any:
    """The loading hook of ``chats.json``: a shard becomes its line, other tables stay."""
    return encode_shard(name, table) if _is_shard(name) else table


def shard_docs(table: Any) -> Mapping[str, Document]:
    """The documents of a shard by chat id (str), decoded anew: the caller's to keep."""
    if table is None:
        return {}
    if isinstance(table, EncodedTable):
        line = table.fragment
        return orjson.loads(memoryview(line)[line.index(b":") + 1 :])
    return table  # a plain table (a snapshot of an old store)


def find_doc(tables: Mapping[str, Any], chat_id: int) -> Document | None:
    """One chat's document in ``tables``, parsed alone out of its shard's line.

    The line is orjson's compact encoding, where ``"<id>":{`` can only be a document's key:
    inside a JSON string a quote is always escaped, so digits are never followed by a bare
    quote there. The document ends at its first ``}`` unless a string in it holds one; then
    the slice is not valid JSON and the whole line is decoded instead.
    """
    table = tables.get(shard_name(chat_id))
    if not isinstance(table, EncodedTable):
        return shard_docs(table).get(str(chat_id))
    line = table.fragment
    key = b'"%d":{' % chat_id
    start = line.find(key)
    if start < 0:
        return None
    start += len(key) - 1
    try:
        doc = orjson.loads(memoryview(line)[start : line.index(b"}", start) + 1])
    except orjson.JSONDecodeError:
        return shard_docs(table).get(str(chat_id))
    return doc


def shards(tables: Mapping[str, Any]) -> list[Any]:
    """Every shard there is, taken at once (safe in a thread: each line is read once, and
    lines are replaced, never changed)."""
    return [table for n in range(CHAT_SHARDS) if (table := tables.get(f"c{n}")) is not None]


def all_docs(tables: Mapping[str, Any]) -> Iterator[tuple[int, Document]]:
    """(chat id, document) for every chat, a shard decoded at a time."""
    for table in shards(tables):
        for chat_id, doc in shard_docs(table).items():
            yield int(chat_id), doc


def docs_with(tables: Mapping[str, Any], key: str) -> Iterator[tuple[int, Document]]:
    """Like ``all_docs``, for the documents that have ``key``; shards whose line cannot hold
    one (no ``"key":`` in it) are not decoded."""
    marker = orjson.dumps(key) + b":"
    for table in shards(tables):
        if isinstance(table, EncodedTable) and marker not in table.fragment:
            continue
        for chat_id, doc in shard_docs(table).items():
            if key in doc:
                yield int(chat_id), doc


def chat_count(tables: Mapping[str, Any]) -> int:
    return sum(
        table.count if isinstance(table, EncodedTable) else len(table) for table in shards(tables)
    )


def put_doc(tables: dict[str, Any], chat_id: int, doc: Document | None) -> bool:
    """Set (``None``: remove) a chat's document in ``tables``, replacing its shard's line;
    False when that changes nothing (a repeated press rewrites no file)."""
    name = shard_name(chat_id)
    docs = dict(shard_docs(tables.get(name)))
    key = str(chat_id)
    if doc is None:
        if docs.pop(key, None) is None:
            return False
    elif docs.get(key) == doc:
        return False
    else:
        docs[key] = doc
    tables[name] = encode_shard(name, docs)
    return True
