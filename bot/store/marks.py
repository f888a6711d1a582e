"""Protest marks: which chats were told of a protest, and how many plan to come, as keyed
hashes only.

Part of ``Store`` (``bot.store.repository``), beside the delivery log in ``deliveries.json``:
one table ``p:<protest id>`` per protest holds a random secret, the hashes of the chats told
of it (so a change or a cancellation reaches exactly them) and the hashes of the chats that
pressed "I plan to come" (so one chat counts once). A hash is HMAC-SHA256(secret, chat id),
cut to 96 bits: without the secret it names nobody, and the table (secret included) is
dropped once the protest is over. No chat id is ever stored next to a protest.

Told marks are written in the same durable commit as the "pending" rows of the messages that
tell (``DeliveryLog.set_deliveries``), so a crash cannot leave a message out without its mark.
Snapshots carry no marks (they copy the delivery log's ``o:`` tables only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from bot.store.engine import Database, FastTable

MARKS_PREFIX = "p:"
SECRET_DOC = 1
RSVP_DOC = 2
TOLD_FIRST = 3
TOLD_BUCKETS = 64
"""Told hashes are spread over this many documents: a write rebuilds one, not all."""


def chat_hash(secret: str, chat_id: int) -> str:
    digest = hmac.new(bytes.fromhex(secret), str(chat_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def _bucket(mark: str) -> int:
    return TOLD_FIRST + mark.encode()[0] % TOLD_BUCKETS


class ProtestMarks:
    """The marks' half of ``Store``: it owns the ``p:`` tables of ``_deliveries``."""

    _deliveries: Database

    def _writable(self) -> None:
        raise NotImplementedError  # Store's

    def _marks(self, event_id: str) -> FastTable | None:
        name = MARKS_PREFIX + event_id
        return self._deliveries.table(name) if name in self._deliveries.durable.read() else None

    def _marked_tables(self) -> list[tuple[str, FastTable]]:
        return [(name[len(MARKS_PREFIX):], self._deliveries.table(name))
                for name in list(self._deliveries.durable.read())
                if name.startswith(MARKS_PREFIX)]

    def _secret(self, event_id: str) -> tuple[FastTable, str]:
        """The protest's table and secret, made on first use (committed by the caller)."""
        table = self._deliveries.table(MARKS_PREFIX + event_id)
        found = table.raw_doc(SECRET_DOC)
        if found is None:
            found = {"k": secrets.token_hex(32)}
            table.put({SECRET_DOC: found})
        return table, found["k"]

    def _apply_told(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Mark each (protest id, chat id) as told, in memory; the caller commits."""
        changes: dict[str, dict[int, dict[str, Any]]] = {}
        for event_id, chat_id in pairs:
            table, secret = self._secret(event_id)
            mark = chat_hash(secret, chat_id)
            bucket = _bucket(mark)
            docs = changes.setdefault(event_id, {})
            doc = docs.get(bucket)
            if doc is None:
                doc = docs[bucket] = dict(table.raw_doc(bucket) or {})
            doc[mark] = 1
        for event_id, docs in changes.items():
            self._deliveries.table(MARKS_PREFIX + event_id).put(docs)

    def was_told(self, event_id: str, chat_id: int) -> bool:
        table = self._marks(event_id)
        secret = table.raw_doc(SECRET_DOC) if table else None
        if table is None or secret is None:
            return False
        mark = chat_hash(secret["k"], chat_id)
        return mark in (table.raw_doc(_bucket(mark)) or {})

    def told_among(self, event_id: str, chat_ids: Iterable[int]) -> list[int]:
        """Those of ``chat_ids`` told of the protest (one HMAC each: run it off the loop)."""
        table = self._marks(event_id)
        secret = table.raw_doc(SECRET_DOC) if table else None
        if table is None or secret is None:
            return []
        key = secret["k"]
        found = []
        for chat_id in chat_ids:
            mark = chat_hash(key, chat_id)
            if mark in (table.raw_doc(_bucket(mark)) or {}):
                found.append(chat_id)
        return found

    # "I plan to come" ----------------------------------------------------------------------
    def coming_count(self, event_id: str) -> int:
        table = self._marks(event_id)
        return len(table.raw_doc(RSVP_DOC) or {}) if table else 0

    def is_coming(self, event_id: str, chat_id: int) -> bool:
        table = self._marks(event_id)
        secret = table.raw_doc(SECRET_DOC) if table else None
        if table is None or secret is None:
            return False
        return chat_hash(secret["k"], chat_id) in (table.raw_doc(RSVP_DOC) or {})

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
        await self._deliveries.durable.commit()
        return len(marks)

    # Housekeeping --------------------------------------------------------------------------
    async def drop_marks(self, event_ids: Iterable[str]) -> int:
        """Forget the marks (and the secret) of protests that are over; returns how many."""
        self._writable()
        dropped = 0
        for event_id in event_ids:
            if self._marks(event_id) is not None:
                self._deliveries.drop_table(MARKS_PREFIX + event_id)
                dropped += 1
        if dropped:
            self._deliveries.durable.scrub_backup()
            await self._deliveries.durable.commit()
        return dropped

    def marked_events(self) -> list[str]:
        return [event_id for event_id, _ in self._marked_tables()]

    def _take_marks(self, chat_id: int, new_id: int | None = None) -> None:
        """Remove the chat's hashes from every protest (``/forget``), or give them to
        ``new_id`` (a group that became a supergroup); the caller commits."""
        for _event_id, table in self._marked_tables():
            secret = table.raw_doc(SECRET_DOC)
            if secret is None:
                continue
            old = chat_hash(secret["k"], chat_id)
            new = chat_hash(secret["k"], new_id) if new_id is not None else None
            changed: dict[int, dict] = {}
            for doc_id in (RSVP_DOC, _bucket(old)):
                doc = table.raw_doc(doc_id)
                if doc and old in doc:
                    changed[doc_id] = {k: v for k, v in doc.items() if k != old}
            for doc_id in list(changed):
                if new is not None:
                    target = RSVP_DOC if doc_id == RSVP_DOC else _bucket(new)
                    into = changed.get(target) or dict(table.raw_doc(target) or {})
                    changed[target] = {**into, new: 1}
            if changed:
                table.put(changed)
