"""An append-only journal beside a data file, so a commit writes what changed, not the file.

A commit that only set fields of documents (a batch of delivery rows, told marks) appends one
record: the changes as a patch, table -> document id -> field -> value. A record is framed as
its length and CRC-32, then the orjson payload: a crash can tear only the last record, and a
torn or damaged record (and anything after it) is dropped when the journal is read. The commit
it belonged to was never acknowledged, since every append is fsynced before its writers are
released.

The first record names the file's kind and an epoch, and the data file's marker carries the
epoch of the journal that belongs to it. Every whole-file write (a compaction, a change that is
not a patch, a scrub) takes the next epoch and then starts a new journal, so a journal that a
crash left behind a newer file, or one from before a restore or from an older bot, never
matches and is never replayed: rows cannot come back once erased or overwritten.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bot.store.files import write_atomic

JOURNAL_FORMAT = "zhanaozen-bot-journal"
FRAME = struct.Struct("<II")
"""Each record's length and CRC-32 of its payload, little-endian."""
EPOCH_KEY = "journal"
"""Key, in the data file's marker document, of the epoch of its journal."""

Patch = dict[str, dict[str, dict[str, Any]]]
"""Table name -> document id -> fields to set (documents and tables made if missing)."""


def journal_path(path: Path) -> Path:
    """``deliveries.json`` -> ``deliveries.journal``."""
    return path.with_suffix(".journal")


def frame(payload: bytes) -> bytes:
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def header(kind: str, epoch: int) -> bytes:
    return frame(orjson.dumps({"format": JOURNAL_FORMAT, "kind": kind, "epoch": epoch}))


def apply_in_place(data: dict[str, dict], patch: Mapping[str, Mapping[str, Mapping]]) -> None:
    """Replay a patch onto freshly loaded tables (not shared yet, so edited in place)."""
    for name, documents in patch.items():
        table = data.setdefault(name, {})
        for doc_id, fields in documents.items():
            document = table.get(doc_id)
            if document is None:
                table[doc_id] = dict(fields)
            else:
                document.update(fields)


def _is_patch(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(documents, dict)
        and all(
            isinstance(fields, dict) and doc_id.lstrip("-").isdecimal()
            for doc_id, fields in documents.items()
        )
        for documents in value.values()
    )


@dataclass
class JournalContents:
    """What reading a journal found."""

    epoch: int | None = None
    """The epoch in its header; None if there is no journal or no valid header."""
    commits: list[list[Patch]] = field(default_factory=list)
    torn: bool = False
    """A partial or damaged record (and whatever followed it) was dropped."""
    size: int = 0
    """Bytes of the valid records, header included."""


def read_journal(path: Path, kind: str) -> JournalContents:
    """Read the records a journal holds, up to the first one that is not intact."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return JournalContents()
    found = JournalContents()
    offset = 0
    while offset < len(raw):
        if offset + FRAME.size > len(raw):
            found.torn = True
            break
        length, checksum = FRAME.unpack_from(raw, offset)
        start, end = offset + FRAME.size, offset + FRAME.size + length
        payload = raw[start:end]
        if end > len(raw) or zlib.crc32(payload) != checksum:
            found.torn = True
            break
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError:
            found.torn = True
            break
        if offset == 0:
            if (
                not isinstance(value, dict)
                or value.get("format") != JOURNAL_FORMAT
                or value.get("kind") != kind
                or not isinstance(value.get("epoch"), int)
            ):
                return JournalContents(torn=True)
            found.epoch = value["epoch"]
        elif isinstance(value, list) and all(_is_patch(patch) for patch in value):
            found.commits.append(value)
        else:
            found.torn = True
            break
        offset = end
    found.size = offset
    return found


class JournalWriter:
    """The open journal of one data file: appends, each fsynced before it returns."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self.records = 0
        """Records appended since the header (0: the file holds everything)."""
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)

    @classmethod
    def start(cls, path: Path, kind: str, epoch: int) -> JournalWriter:
        """Replace the journal, atomically, by an empty one for ``epoch``."""
        first = header(kind, epoch)
        write_atomic(path, first)
        return cls(path, len(first))

    def append(self, payload: bytes) -> None:
        """Append one record; on failure the caller must write the whole file next."""
        record = memoryview(frame(payload))
        while record:
            record = record[os.write(self._fd, record) :]
        getattr(os, "fdatasync", os.fsync)(self._fd)
        self.size += FRAME.size + len(payload)
        self.records += 1

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
