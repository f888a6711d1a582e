"""The bot's data: chat settings, the delivery log, protest events and meta, and the content.

Four TinyDB files in the data dir, each with its own durable storage (see ``bot.store.engine``):
``content.json`` (cards and sources, rewritten only when they change), ``chats.json``,
``deliveries.json`` and ``events.json``. Async writes return only once the data is on disk,
so a "subscribed" reply is never sent for a subscription that a crash could lose.

Only what the bot needs is kept: ids, settings and delivery states; never names, usernames or
message text. Chats are sharded over 1,024 tables, each kept in memory as its line of
``chats.json`` (``bot.store.chats``); documents use short keys and omit defaults to keep
100,000 chats small.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from array import array
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from bot.store import chats
from bot.store.deliveries import DeliveryLog
from bot.store.engine import (
    Database,
    DirectoryLock,
    DurableStorage,
    json_copy,
    lock_data_dir,
    open_database,
)
from bot.store.files import StoreCorrupted, StoreError
from bot.store.marks import ProtestMarks
from bot.store.models import ChatSettings, decode_settings, encode_settings

__all__ = ["Store", "StoreCorrupted", "StoreError"]

log = logging.getLogger(__name__)

KINDS = ("content", "chats", "deliveries", "events")
JOURNALED = ("deliveries",)
"""Files whose commits of rows and marks append to ``<kind>.journal`` (``bot.store.journal``)."""
DATA_NAMES = [f"{kind}.json" for kind in KINDS] + [f"{kind}.journal" for kind in JOURNALED]

INTENTS = "intents"
"""Table in deliveries.json: cross-file changes (forget, migrate) not yet finished."""
CONTENT_HASH_TABLE = "_content"


class Store:
    """All persistent state of the bot; open with ``Store.open(data_dir)``.

    ``deliveries`` (the delivery log) and ``marks`` (who was told of a protest, who plans to
    come) are its parts in ``deliveries.json``; chats, content, events and meta are its own.
    """

    def __init__(
        self, data_dir: Path, databases: dict[str, Database], lock: DirectoryLock | None
    ) -> None:
        self.data_dir = data_dir
        self._content = databases["content"]
        self._chats = databases["chats"]
        self._deliveries_db = databases["deliveries"]
        self._events = databases["events"]
        self._lock = lock
        self._closed = False
        self.deliveries = DeliveryLog(self._deliveries_db, self._writable)
        self.marks = ProtestMarks(self._deliveries_db, self._writable)
        if lock is not None:
            self._finish_intents()

    @classmethod
    def open(cls, data_dir: Path, *, read_only: bool = False) -> Store:
        """Load every file; raise StoreCorrupted (files untouched) if one cannot be trusted.

        ``read_only`` is for backups taken while the bot runs: no lock, nothing written.
        """
        data_dir = Path(data_dir)
        if read_only and not data_dir.is_dir():
            raise StoreError(f"{data_dir} is not a directory")
        lock = None if read_only else lock_data_dir(data_dir, DATA_NAMES)
        try:
            databases = {
                kind: open_database(
                    data_dir / f"{kind}.json",
                    kind,
                    read_only=read_only,
                    pack=chats.pack if kind == "chats" else None,
                    journal=kind in JOURNALED,
                )
                for kind in KINDS
            }
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return cls(data_dir, databases, lock)

    @property
    def _storages(self) -> list[DurableStorage]:
        return [
            db.durable for db in (self._content, self._chats, self._deliveries_db, self._events)
        ]

    @property
    def flush_count(self) -> int:
        """Commits written so far (file replaces, journal appends), all files (for tests)."""
        return sum(storage.flush_count for storage in self._storages)

    async def aclose(self) -> None:
        if self._closed:
            return
        try:
            await asyncio.gather(*(storage.wait_idle() for storage in self._storages))
            self._compact()
        finally:
            self._close()

    def close(self) -> None:
        """Flush and release the data directory, for callers without an event loop."""
        if not self._closed:
            self.flush_now()
            self._compact()
            self._close()

    def _compact(self) -> None:
        """A clean stop leaves no journal to replay: the next start reads one file (and an
        older bot, should one be started on this data dir, finds every row)."""
        try:
            self._deliveries_db.durable.compact_sync()
        except (OSError, StoreError) as exc:  # every row is still in the journal
            log.warning("could not fold the delivery journal into its file: %s", exc)

    def flush_now(self) -> None:
        for storage in self._storages:
            storage.flush_sync()

    def _close(self) -> None:
        self._closed = True
        for storage in self._storages:
            storage.close()
        if self._lock is not None:
            self._lock.release()

    def _writable(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")
        if self._lock is None:
            raise StoreError("the store was opened read-only")

    # Content -------------------------------------------------------------------------------
    def sync_content(
        self, documents: dict[str, list[dict]], fingerprint: str | None = None
    ) -> bool:
        """Replace the content tables unless they already hold exactly these documents.

        ``fingerprint`` (``loading.content_fingerprint``) names the files they were loaded
        from; None when they came from elsewhere, so that no later start trusts it."""
        self._writable()
        encoded = orjson.dumps(documents, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(encoded).hexdigest()
        stamp = {"sha256": digest} | ({"files": fingerprint} if fingerprint else {})
        current = self._content.table(CONTENT_HASH_TABLE).raw_doc(1)
        if current is not None and current.get("sha256") == digest:
            if current != stamp:
                self._content.table(CONTENT_HASH_TABLE).put({1: stamp})
                self._content.durable.flush_sync()
            return False
        tables: dict[str, dict] = {CONTENT_HASH_TABLE: {"1": stamp}}
        for name, docs in orjson.loads(encoded).items():
            if name.startswith("_") or not all(isinstance(doc, dict) for doc in docs):
                raise ValueError(f"content table {name!r}: bad name or a non-object document")
            tables[name] = {str(number): doc for number, doc in enumerate(docs, 1)}
        self._content.durable.replace_all(tables)
        self._content.durable.flush_sync()
        return True

    def content_fingerprint(self) -> str | None:
        """The fingerprint of the files the stored content was loaded from, if known."""
        current = self._content.table(CONTENT_HASH_TABLE).raw_doc(1)
        return current.get("files") if current is not None else None

    def content_table(self, name: str) -> list[dict]:
        """The documents of one content table (treat nested values as read-only)."""
        return [dict(doc) for doc in self._content.table(name).raw().values()]

    # Chats ---------------------------------------------------------------------------------
    # The chats' tables are the storage's own (``bot.store.chats``: a shard is one line of
    # bytes), not TinyDB tables; every change replaces a line and goes through ``write``.
    @property
    def _chat_tables(self) -> dict[str, Any]:
        return self._chats.durable.read()

    def _put_chat_doc(self, chat_id: int, doc: Mapping[str, Any] | None) -> None:
        tables = self._chat_tables
        if chats.put_doc(tables, chat_id, doc):  # a repeated press rewrites no file
            self._chats.durable.write(tables)

    def chat(self, chat_id: int) -> ChatSettings | None:
        doc = chats.find_doc(self._chat_tables, chat_id)
        return None if doc is None else decode_settings(chat_id, doc)

    async def put_chat(self, settings: ChatSettings) -> None:
        doc = encode_settings(settings)
        self._writable()
        self._put_chat_doc(settings.chat_id, doc)
        await self._chats.durable.commit()  # still waits for an equal change in flight

    async def forget_chat(self, chat_id: int) -> None:
        """Erase the chat and its delivery rows from the files and from their backups."""
        await self._across_files({"op": "forget", "chat": chat_id}, chat_id)

    async def migrate_chat(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: move its settings and delivery rows to the new id."""
        if old_id == new_id:
            self._writable()
            return
        await self._across_files({"op": "migrate", "old": old_id, "new": new_id}, old_id)

    # A change to both chats.json and deliveries.json cannot replace both files at once, so
    # it is done in an order where every intermediate state is harmless and marked:
    #   1. deliveries.json: the intent (and, for a migration, the rows copied to the new id);
    #   2. chats.json: the chat removed or moved;
    #   3. deliveries.json: the old rows removed, the intent dropped.
    # Until 3, no chat is without its rows (no reminder twice); a crash anywhere leaves the
    # intent, and opening the store finishes the change (``_finish_intents``).

    async def _across_files(self, intent: dict[str, Any], key: int) -> None:
        self._writable()
        intents = self._deliveries_db.table(INTENTS)
        intents.put({key: intent})
        if intent["op"] == "migrate":
            self.deliveries.copy_rows(intent["old"], intent["new"])
        await self._deliveries_db.durable.commit()
        self._apply_to_chats(intent)
        self._chats.durable.scrub_backup()
        await self._chats.durable.commit()
        self.deliveries.take_rows(intent["chat"] if intent["op"] == "forget" else intent["old"])
        self._take_intent_marks(intent)
        intents.remove(doc_ids=[key])
        self._deliveries_db.durable.scrub_backup()
        await self._deliveries_db.durable.commit()

    def _take_intent_marks(self, intent: dict[str, Any]) -> None:
        if intent.get("op") == "forget":
            self.marks.take(intent["chat"])
        else:
            self.marks.take(intent["old"], intent["new"])

    async def set_deliveries_telling(
        self, rows: list[tuple[str, int, str]], told: list[tuple[str, int]]
    ) -> None:
        """``deliveries.set``, and the protests these messages tell of marked as told to
        their chats, in the same durable write (the two share ``deliveries.json``)."""
        self._writable()
        self.marks.apply_told(told)
        if rows:
            await self.deliveries.set(rows)
        else:
            await self._deliveries_db.durable.commit()

    def _apply_to_chats(self, intent: dict[str, Any]) -> None:
        if intent["op"] == "forget":
            self._put_chat_doc(intent["chat"], None)
            return
        old_id, new_id = intent["old"], intent["new"]
        doc = chats.find_doc(self._chat_tables, old_id)
        if doc is not None:
            self._put_chat_doc(new_id, {**doc, "t": "supergroup"})
            self._put_chat_doc(old_id, None)

    def _finish_intents(self) -> None:
        """Complete cross-file changes a crash interrupted (at open, before anything else)."""
        intents = self._deliveries_db.durable.read().get(INTENTS) or {}
        if not intents:
            return
        for doc_id, intent in list(intents.items()):
            if intent.get("op") == "migrate":
                self.deliveries.copy_rows(intent["old"], intent["new"])
            self._apply_to_chats(intent)
            self.deliveries.take_rows(
                intent["chat"] if intent.get("op") == "forget" else intent["old"]
            )
            self._take_intent_marks(intent)
            self._deliveries_db.table(INTENTS).remove(doc_ids=[int(doc_id)])
        for db in (self._chats, self._deliveries_db):
            db.durable.scrub_backup()
            db.durable.flush_sync()

    def subscribers(self) -> list[ChatSettings]:
        return [
            decode_settings(chat_id, doc)
            for chat_id, doc in chats.all_docs(self._chat_tables)
            if doc.get("s")
        ]

    def subscriber_count(self) -> int:
        return sum(1 for _, doc in chats.all_docs(self._chat_tables) if doc.get("s"))

    def subscriber_groups(
        self, *, by_cities: bool = True, followers_apart: bool = False
    ) -> list[tuple[ChatSettings, Sequence[int]]]:
        """Subscribed chat ids grouped by the settings that decide when they hear (zone,
        hour, topics, leads, and cities unless ``by_cities`` is false: they matter only when
        there are protests), each group with its settings once.

        Reads the stored documents without decoding each into ``ChatSettings``: with 100,000
        subscribers that is the difference between a tenth of a second and a second. Safe
        from a worker thread: a shard's line is replaced, never changed. ``followers_apart``
        leaves out the chats that follow a card: their news is theirs alone, so the sweep
        takes each of them on its own (``followers``). The ids come in arrays of 64-bit ints:
        8 bytes a chat instead of a list's 40 (the plan and the catch-up sweep at start each
        hold all of them at once).
        """
        groups: dict[tuple, array[int]] = {}
        for shard in chats.shards(self._chat_tables):
            for chat_id, doc in chats.shard_docs(shard).items():
                get = doc.get
                if get("s") and not (followers_apart and "f" in doc):
                    key = (get("z"), get("h"), get("o"), get("d"), get("c") if by_cities else None)
                    found = groups.get(key)
                    if found is None:
                        found = groups[key] = array("q")
                    found.append(int(chat_id))
        return [
            (
                decode_settings(
                    0,
                    {
                        name: value
                        for name, value in zip("zhodc", key, strict=True)
                        if value is not None
                    }
                    | {"s": 1},
                ),
                chat_ids,
            )
            for key, chat_ids in groups.items()
        ]

    def followers(self) -> list[ChatSettings]:
        """Every chat that follows a card, subscribed to reminders or not (a few among many:
        the documents are decoded only for them)."""
        return [
            decode_settings(chat_id, doc)
            for chat_id, doc in chats.docs_with(self._chat_tables, "f")
        ]

    def follow_counts(self) -> dict[str, int]:
        """Card id -> how many chats follow it (for /stats: counts only)."""
        counts: dict[str, int] = {}
        for _, doc in chats.docs_with(self._chat_tables, "f"):
            for card_id in doc["f"].split("|"):
                counts[card_id] = counts.get(card_id, 0) + 1
        return counts

    def chat_count(self) -> int:
        return chats.chat_count(self._chat_tables)

    def all_chats(self) -> Iterator[ChatSettings]:
        for chat_id, doc in chats.all_docs(self._chat_tables):
            yield decode_settings(chat_id, doc)

    # Protest events and meta ---------------------------------------------------------------
    def events(self) -> list[dict]:
        return [json_copy(doc) for doc in self._events.table("events").raw().values()]

    async def put_event(self, event: dict) -> None:
        if "id" not in event:
            raise ValueError("an event needs an 'id'")
        self._writable()
        doc = json_copy(event)
        table = self._events.table("events")
        found = next(
            (int(doc_id) for doc_id, old in table.raw().items() if old.get("id") == doc["id"]),
            None,
        )
        if found is None:
            table.insert(doc)
        else:
            table.put({found: doc})
        await self._events.durable.commit()

    @property
    def events_revision(self) -> int:
        """Changes with every write to ``events.json`` (protests and meta), so what is
        decoded from the events can be kept until it does (``ProtestRepository``)."""
        return self._events.durable.generation

    def _meta(self) -> Mapping[str, Any]:
        return self._events.table("meta").raw_doc(1) or {}

    def meta(self, key: str, default: Any = None) -> Any:
        meta = self._meta()
        return json_copy(meta[key]) if key in meta else default

    async def set_meta(self, key: str, value: Any) -> None:
        self._writable()
        self._events.table("meta").put({1: {**self._meta(), key: json_copy(value)}})
        await self._events.durable.commit()

    def snapshot_tables(self) -> dict[str, dict[str, dict]]:
        """The current tables of chats, deliveries and events, in one cheap synchronous step.

        Tables and documents are replaced on every write, never changed in place (see
        ``FastTable``; a chat shard is its line of bytes, ``bot.store.chats``), so these
        references stay a consistent snapshot that a worker thread can encode while the bot
        goes on (``snapshots.snapshot_from_tables``).
        """
        return {
            kind: dict(db.durable.read())
            for kind, db in (
                ("chats", self._chats),
                ("deliveries", self._deliveries_db),
                ("events", self._events),
            )
        }
