"""Protest marks: which chats were told of a protest, and how many plan to come, as keyed
hashes only.

``Store.marks`` (``bot.store.repository``), beside the delivery log in ``deliveries.json``:
a table ``p:<protest id>`` per protest holds a random secret and the hashes of the people who
pressed "I plan to come" (so each counts once); tables ``p:<protest id>:<n>`` hold the hashes
of the chats told of it (so a change or a cancellation reaches exactly them), spread so that
a write re-serialises a small table, not every chat told. A hash is HMAC-SHA256(secret, chat id),
cut to 96 bits: without the secret it names nobody, and the table (secret included) is
dropped once the protest is over. No chat id is ever stored next to a protest.

Told marks are written in the same durable commit as the "pending" rows of the messages that
tell (``Store.set_deliveries_telling``), so a crash cannot leave a message out without its mark.
Snapshots carry no marks (they copy the delivery log's ``o:`` tables only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.store.engine import Database, FastTable

MARKS_PREFIX = "p:"
SECRET_DOC = 1
RSVP_DOC = 2
TOLD_TABLES = 32
"""Told hashes are spread over this many tables: a write re-serialises one, not all."""


def chat_hash(secret: str, chat_id: int) -> str:
    digest = hmac.new(bytes.fromhex(secret), str(chat_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def _told_table(event_id: str, mark: str) -> str:
    return f"{MARKS_PREFIX}{event_id}:{mark.encode()[0] % TOLD_TABLES}"


class ProtestMarks:
    """The ``p:`` tables of ``deliveries.json``: the file (one ``Database``, one commit
    path) is shared with the delivery log; ``writable`` is the store's check that it is open
    for writing."""

    def __init__(self, database: Database, writable: Callable[[], None]) -> None:
        self._database = database
        self._writable = writable

    def _marks(self, event_id: str) -> FastTable | None:
        name = MARKS_PREFIX + event_id
        return self._database.table(name) if name in self._database.durable.read() else None

    def _marked_tables(self) -> list[tuple[str, FastTable]]:
        """Each protest's main table (secret and "I plan to come")."""
        return [
            (name[len(MARKS_PREFIX) :], self._database.table(name))
            for name in list(self._database.durable.read())
            if name.startswith(MARKS_PREFIX) and ":" not in name[len(MARKS_PREFIX) :]
        ]

    def _told(self, event_id: str, mark: str) -> Mapping[str, Any]:
        name = _told_table(event_id, mark)
        if name not in self._database.durable.read():
            return {}
        return self._database.table(name).raw_doc(1) or {}

    def _secret(self, event_id: str) -> tuple[FastTable, str]:
        """The protest's table and secret, made on first use (committed by the caller)."""
        table = self._database.table(MARKS_PREFIX + event_id)
        found = table.raw_doc(SECRET_DOC)
        if found is None:
            found = {"k": secrets.token_hex(32)}
            table.put({SECRET_DOC: found})
        return table, found["k"]

    def apply_told(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Mark each (protest id, chat id) as told, in memory; the caller commits.

        The new marks go in as one patch, so the commit journals them with the rows.
        """
        patch: dict[str, dict[str, dict[str, Any]]] = {}
        for event_id, chat_id in pairs:
            _table, secret = self._secret(event_id)
            mark = chat_hash(secret, chat_id)
            if mark not in self._told(event_id, mark):
                patch.setdefault(_told_table(event_id, mark), {}).setdefault("1", {})[mark] = 1
        if patch:
            self._database.durable.apply_patch(patch)

    def _key(self, event_id: str) -> str | None:
        table = self._marks(event_id)
        secret = table.raw_doc(SECRET_DOC) if table else None
        return secret["k"] if secret else None

    def was_told(self, event_id: str, chat_id: int) -> bool:
        key = self._key(event_id)
        if key is None:
            return False
        mark = chat_hash(key, chat_id)
        return mark in self._told(event_id, mark)

    def told_among(self, event_id: str, chat_ids: Iterable[int]) -> list[int]:
        """Those of ``chat_ids`` told of the protest (one HMAC each: run it off the loop)."""
        key = self._key(event_id)
        if key is None:
            return []
        return [
            chat_id
            for chat_id in chat_ids
            if (mark := chat_hash(key, chat_id)) in self._told(event_id, mark)
        ]

    # "I plan to come" ----------------------------------------------------------------------
    def coming_count(self, event_id: str) -> int:
        table = self._marks(event_id)
        return len(table.raw_doc(RSVP_DOC) or {}) if table else 0

    def is_coming(self, event_id: str, chat_id: int) -> bool:
        table, key = self._marks(event_id), self._key(event_id)
        if table is None or key is None:
            return False
        return chat_hash(key, chat_id) in (table.raw_doc(RSVP_DOC) or {})

    async def set_coming(self, event_id: str, chat_id: int, coming: bool) -> int:
        """Count the chat in (or out) once; returns the count, durably saved."""
        self._writable()
        table, secret = self._secret(event_id)
        mark = chat_hash(secret, chat_id)
        marks = dict(table.raw_doc(RSVP_DOC) or {})
        if coming:
            marks[mark] = 1
        else:
            marks.pop(mark, None)
        table.put({RSVP_DOC: marks})
        await self._database.durable.commit()
        return len(marks)

    # Housekeeping --------------------------------------------------------------------------
    async def drop(self, event_ids: Iterable[str]) -> int:
        """Forget the marks (and the secret) of protests that are over; returns how many."""
        self._writable()
        dropped = 0
        names = list(self._database.durable.read())
        for event_id in event_ids:
            main = MARKS_PREFIX + event_id
            if main in names:
                for name in names:
                    if name == main or name.startswith(main + ":"):
                        self._database.drop_table(name)
                dropped += 1
        if dropped:
            self._database.durable.scrub_backup()
            await self._database.durable.commit()
        return dropped

    def protest_ids(self) -> list[str]:
        return [event_id for event_id, _ in self._marked_tables()]

    def take(self, chat_id: int, new_id: int | None = None) -> None:
        """Remove the chat's hashes from every protest (``/forget``), or give them to
        ``new_id`` (a group that became a supergroup); the caller commits."""
        for event_id, table in self._marked_tables():
            key = self._key(event_id)
            if key is None:
                continue
            old = chat_hash(key, chat_id)
            new = chat_hash(key, new_id) if new_id is not None else None
            coming = table.raw_doc(RSVP_DOC) or {}
            if old in coming:
                kept = {k: v for k, v in coming.items() if k != old}
                table.put({RSVP_DOC: {**kept, new: 1} if new else kept})
            told = self._told(event_id, old)
            if old in told:
                self._database.table(_told_table(event_id, old)).put(
                    {1: {k: v for k, v in told.items() if k != old}}
                )
                if new_id is not None:
                    self.apply_told([(event_id, new_id)])
