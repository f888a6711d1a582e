"""The delivery log: which reminder or broadcast went to which chat, and in what state.

``Store.deliveries`` (``bot.store.repository``): rows ``(occurrence, chat id) -> state`` in
``deliveries.json``, one TinyDB table per occurrence
with the chats spread over ``DELIVERY_BUCKETS`` documents, since TinyDB rewrites a whole
document on every change. Rows are written as patches, so a commit appends just them to
``deliveries.journal`` (``bot.store.journal``) rather than rewriting the occurrence.
"pending" is written durably before a send, so a crash never sends one twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.store.engine import Database, FastTable
from bot.store.models import is_int, is_short_text

DELIVERY_STATES = ("pending", "sent", "failed", "skipped", "uncertain")
STATE_CODES = {state: code for code, state in enumerate(DELIVERY_STATES)}
"""States are stored as small ints: CPython shares those objects, strings it would not."""
DELIVERY_BUCKETS = 64
TOUCHED_DOC = DELIVERY_BUCKETS
"""Document id, in each occurrence table, of the day the occurrence was last written."""
TOUCHED_KEY = str(TOUCHED_DOC)
OCCURRENCE_PREFIX = "o:"


class DeliveryLog:
    """The ``o:`` tables of ``deliveries.json`` and the count of rows in each state.

    It shares the file (one ``Database``, one commit path) with the protest marks and the
    store's cross-file intents, so a row and the mark of the message it records are made
    durable by one commit; ``writable`` is the store's check that it is open for writing.
    """

    def __init__(self, database: Database, writable: Callable[[], None]) -> None:
        self._database = database
        self._writable = writable
        self._counts = [0] * len(DELIVERY_STATES)
        for _, table in self.occurrences():
            self._tally(table, 1)

    def occurrences(self) -> list[tuple[str, FastTable]]:
        return [
            (name[len(OCCURRENCE_PREFIX) :], self._database.table(name))
            for name in list(self._database.durable.read())
            if name.startswith(OCCURRENCE_PREFIX)
        ]

    def _occurrence(self, occurrence: str) -> FastTable | None:
        name = OCCURRENCE_PREFIX + occurrence
        return self._database.table(name) if name in self._database.durable.read() else None

    def state(self, occurrence: str, chat_id: int) -> str | None:
        table = self._occurrence(occurrence)
        rows = table.raw_doc(chat_id % DELIVERY_BUCKETS) if table else None
        code = rows.get(str(chat_id)) if rows else None
        return None if code is None else DELIVERY_STATES[code]

    def rows(self, occurrence: str) -> dict[int, str]:
        """Chat id -> state, for one occurrence."""
        table = self._occurrence(occurrence)
        if table is None:
            return {}
        return {
            int(chat_id): DELIVERY_STATES[code]
            for doc_id, rows in table.raw().items()
            if doc_id != TOUCHED_KEY
            for chat_id, code in rows.items()
        }

    def counts(self) -> dict[str, int]:
        return dict(zip(DELIVERY_STATES, self._counts, strict=True))

    def days(self) -> dict[str, int]:
        """Occurrence -> day (days since 1970-01-01 UTC) its rows were last written."""
        return {
            occurrence: (table.raw_doc(TOUCHED_DOC) or {}).get("day", 0)
            for occurrence, table in self.occurrences()
        }

    async def set(self, rows: list[tuple[str, int, str]]) -> None:
        self._writable()
        for occurrence, chat_id, state in rows:  # all checked before any is applied
            if state not in STATE_CODES or not is_int(chat_id) or not is_short_text(occurrence):
                raise ValueError(f"bad delivery row {(occurrence, chat_id, state)!r}")
        if rows:
            self.apply_rows(
                (occurrence, chat_id, STATE_CODES[state]) for occurrence, chat_id, state in rows
            )
            await self._database.durable.commit()

    def apply_rows(self, rows: Iterable[tuple[str, int, int]]) -> None:
        """Write rows (occurrence, chat id, state code) in memory; the caller commits.

        They go in as one patch, so the commit journals these rows alone.
        """
        patch: dict[str, dict[str, dict[str, Any]]] = {}
        for occurrence, chat_id, code in rows:
            bucket_rows = patch.setdefault(OCCURRENCE_PREFIX + occurrence, {}).setdefault(
                str(chat_id % DELIVERY_BUCKETS), {}
            )
            bucket_rows[str(chat_id)] = code
        if not patch:
            return
        day = int(time.time() // 86400)
        tables = self._database.durable.read()
        for name, buckets in patch.items():
            table = tables.get(name, {})
            for bucket, changes in buckets.items():
                current = table.get(bucket) or {}
                for key, code in changes.items():
                    old = current.get(key)
                    if old is not None:
                        self._counts[old] -= 1
                    self._counts[code] += 1
            if (table.get(TOUCHED_KEY) or {}).get("day") != day:
                buckets[TOUCHED_KEY] = {"day": day}
        self._database.durable.apply_patch(patch)

    def copy_rows(self, old_id: int, new_id: int) -> None:
        """Give ``new_id`` the rows of ``old_id`` it has not got yet; the caller commits."""
        bucket, key = old_id % DELIVERY_BUCKETS, str(old_id)
        rows = [
            (occurrence, new_id, found[key])
            for occurrence, table in self.occurrences()
            if (found := table.raw_doc(bucket))
            and key in found
            and self.state(occurrence, new_id) is None
        ]
        self.apply_rows(rows)

    def take_rows(self, chat_id: int) -> dict[str, int]:
        """Remove a chat's delivery rows (the caller commits); return occurrence -> code."""
        key, bucket, taken = str(chat_id), chat_id % DELIVERY_BUCKETS, {}
        for occurrence, table in self.occurrences():
            rows = table.raw_doc(bucket)
            if rows and key in rows:
                remaining = dict(rows)
                taken[occurrence] = code = remaining.pop(key)
                self._counts[code] -= 1
                table.put({bucket: remaining})
        return taken

    async def prune(self, older_than_days: int = 60) -> int:
        """Drop the log of occurrences not written for that long; return how many."""
        self._writable()
        cutoff = int(time.time() // 86400) - older_than_days
        dropped = 0
        for occurrence, day in self.days().items():
            if day < cutoff:
                self._tally(self._database.table(OCCURRENCE_PREFIX + occurrence), -1)
                self._database.drop_table(OCCURRENCE_PREFIX + occurrence)
                dropped += 1
        if dropped:
            await self._database.durable.commit()
        return dropped

    def _tally(self, table: FastTable, sign: int) -> None:
        for doc_id, rows in table.raw().items():
            if doc_id != TOUCHED_KEY:
                for code in rows.values():
                    self._counts[code] += sign
