"""The delivery log: which reminder or broadcast went to which chat, and in what state.

Part of ``Store`` (``bot.store.repository``), kept apart because it is its own idea: rows
``(occurrence, chat id) -> state`` in ``deliveries.json``, one TinyDB table per occurrence
with the chats spread over ``DELIVERY_BUCKETS`` documents, since TinyDB rewrites a whole
document on every change. "pending" is written durably before a send, so a crash never
sends one twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

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
    """The delivery log's half of ``Store``: it owns ``_deliveries`` and the state counts."""

    _deliveries: Database
    _counts: list[int]

    def _writable(self) -> None:
        raise NotImplementedError  # Store's: refuses writes to a closed or read-only store

    # Delivery log --------------------------------------------------------------------------
    def _occurrences(self) -> list[tuple[str, FastTable]]:
        return [
            (name[len(OCCURRENCE_PREFIX) :], self._deliveries.table(name))
            for name in list(self._deliveries.durable.read())
            if name.startswith(OCCURRENCE_PREFIX)
        ]

    def _occurrence(self, occurrence: str) -> FastTable | None:
        name = OCCURRENCE_PREFIX + occurrence
        return self._deliveries.table(name) if name in self._deliveries.durable.read() else None

    def delivery(self, occurrence: str, chat_id: int) -> str | None:
        table = self._occurrence(occurrence)
        rows = table.raw_doc(chat_id % DELIVERY_BUCKETS) if table else None
        code = rows.get(str(chat_id)) if rows else None
        return None if code is None else DELIVERY_STATES[code]

    def deliveries(self, occurrence: str) -> dict[int, str]:
        table = self._occurrence(occurrence)
        if table is None:
            return {}
        return {
            int(chat_id): DELIVERY_STATES[code]
            for doc_id, rows in table.raw().items()
            if doc_id != TOUCHED_KEY
            for chat_id, code in rows.items()
        }

    def delivery_counts(self) -> dict[str, int]:
        return dict(zip(DELIVERY_STATES, self._counts, strict=True))

    def delivery_days(self) -> dict[str, int]:
        """Occurrence -> day (days since 1970-01-01 UTC) its rows were last written."""
        return {
            occurrence: (table.raw_doc(TOUCHED_DOC) or {}).get("day", 0)
            for occurrence, table in self._occurrences()
        }

    async def set_deliveries(self, rows: list[tuple[str, int, str]]) -> None:
        self._writable()
        for occurrence, chat_id, state in rows:  # all checked before any is applied
            if state not in STATE_CODES or not is_int(chat_id) or not is_short_text(occurrence):
                raise ValueError(f"bad delivery row {(occurrence, chat_id, state)!r}")
        if rows:
            self._apply_rows(
                (occurrence, chat_id, STATE_CODES[state]) for occurrence, chat_id, state in rows
            )
            await self._deliveries.durable.commit()

    def _apply_rows(self, rows: Iterable[tuple[str, int, int]]) -> None:
        grouped: dict[str, dict[int, dict[str, int]]] = {}
        for occurrence, chat_id, code in rows:
            bucket_rows = grouped.setdefault(occurrence, {}).setdefault(
                chat_id % DELIVERY_BUCKETS, {}
            )
            bucket_rows[str(chat_id)] = code
        day = int(time.time() // 86400)
        for occurrence, buckets in grouped.items():
            table = self._deliveries.table(OCCURRENCE_PREFIX + occurrence)
            documents: dict[int, dict] = {}
            for bucket, changes in buckets.items():
                current = table.raw_doc(bucket) or {}
                for key, code in changes.items():
                    old = current.get(key)
                    if old is not None:
                        self._counts[old] -= 1
                    self._counts[code] += 1
                documents[bucket] = {**current, **changes}
            if (table.raw_doc(TOUCHED_DOC) or {}).get("day") != day:
                documents[TOUCHED_DOC] = {"day": day}
            table.put(documents)

    def _take_rows(self, chat_id: int) -> dict[str, int]:
        """Remove a chat's delivery rows; return occurrence -> state code."""
        key, bucket, taken = str(chat_id), chat_id % DELIVERY_BUCKETS, {}
        for occurrence, table in self._occurrences():
            rows = table.raw_doc(bucket)
            if rows and key in rows:
                remaining = dict(rows)
                taken[occurrence] = code = remaining.pop(key)
                self._counts[code] -= 1
                table.put({bucket: remaining})
        return taken

    async def prune_deliveries(self, older_than_days: int = 60) -> int:
        """Drop the log of occurrences not written for that long; return how many."""
        self._writable()
        cutoff = int(time.time() // 86400) - older_than_days
        dropped = 0
        for occurrence, day in self.delivery_days().items():
            if day < cutoff:
                self._tally(self._deliveries.table(OCCURRENCE_PREFIX + occurrence), -1)
                self._deliveries.drop_table(OCCURRENCE_PREFIX + occurrence)
                dropped += 1
        if dropped:
            await self._deliveries.durable.commit()
        return dropped

    def _tally(self, table: FastTable, sign: int) -> None:
        for doc_id, rows in table.raw().items():
            if doc_id != TOUCHED_KEY:
                for code in rows.values():
                    self._counts[code] += sign
