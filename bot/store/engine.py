"""Durable TinyDB storage: data lives in memory, and commits replace the file atomically.

TinyDB's JSONStorage re-parses and rewrites the whole file on every write (about 1.5 writes/s
with 100,000 chats). Here the documents stay in memory and many writes share one flush
(group commit): a writer waits for the next atomic replace of the file, and every writer that
arrived meanwhile is released by that same replace. The file is written to a temporary file in
the same directory, fsynced, renamed over the old one, and the directory is fsynced, so after a
crash each file holds either the old or the new version, never a mixture.

Tables and documents are copy-on-write: TinyDB builds a new table dict on every write, and the
store replaces whole documents instead of editing them (see ``FastTable``). A flush can
therefore serialise a shallow copy of the table mapping in a worker thread while the event loop
keeps changing the data. The files themselves (their format, atomic writes, checks on load) are
``bot.store.files``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from bot.store.files import (
    MARKER_TABLE,
    EncodedTable,
    Pack,
    StoreError,
    encode_lines,
    load_tables,
    marker,
    remove_stale_temporaries,
    write_atomic,
)


def _retrieve(future: asyncio.Future) -> None:
    """Mark a shared outcome as seen even when every waiter was cancelled."""
    if not future.cancelled():
        future.exception()


class DurableStorage(Storage):
    """In-memory TinyDB storage with group-committed, atomic, fsynced file replaces."""

    def __init__(
        self, path: Path, kind: str, *, read_only: bool = False, pack: Pack | None = None
    ) -> None:
        super().__init__()
        self.path = path
        self.kind = kind
        self.read_only = read_only
        self.flush_count = 0
        """Completed file replaces; tests use it to check batching."""
        loaded = load_tables(path, kind, pack)
        self._data = loaded if loaded is not None else {MARKER_TABLE: marker(kind)}
        self._generation = 0  # bumped by every change
        self._durable = 0  # highest generation known to be on disk
        self._written = 0  # same, as seen by the writing thread (under _lock)
        self._lock = threading.Lock()
        self._fragments: dict[str, tuple[dict, bytes]] = {}
        self._scrub_backup = False
        self._pending: asyncio.Future | None = None
        self._inflight: tuple[int, asyncio.Future] | None = None
        self._flusher: asyncio.Task | None = None
        self._closed = False
        if loaded is None and not read_only:
            self._generation = 1
            self.flush_sync()

    # TinyDB's storage interface -----------------------------------------------------------
    def read(self) -> dict[str, dict]:
        return self._data

    def write(self, data: dict[str, dict]) -> None:
        if self.read_only or self._closed:
            raise StoreError(f"{self.path.name} is {'read-only' if self.read_only else 'closed'}")
        self._data = data
        self._generation += 1

    @property
    def generation(self) -> int:
        """Bumped by every change: what is derived from the data stays valid while it holds."""
        return self._generation

    def close(self) -> None:
        self._closed = True

    # Durability ---------------------------------------------------------------------------
    def replace_all(self, data: dict[str, dict]) -> None:
        """Swap in a whole new data set (content reloads); the marker is kept."""
        self.write({**data, MARKER_TABLE: marker(self.kind)})

    def scrub_backup(self) -> None:
        """Make the next flush refresh ``.bak`` too, so erased data leaves the backup."""
        self._scrub_backup = True
        self._generation += 1

    async def commit(self) -> None:
        """Return once every change made so far is on disk (raise StoreError if it failed)."""
        if self._durable >= self._generation:
            return
        target = self._generation
        if self._inflight is not None and self._inflight[0] >= target:
            await asyncio.shield(self._inflight[1])  # the running flush already has it
            return
        loop = asyncio.get_running_loop()
        if self._pending is None:
            self._pending = loop.create_future()
            self._pending.add_done_callback(_retrieve)
        waiter = self._pending
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush_loop())
        await asyncio.shield(waiter)

    async def _flush_loop(self) -> None:
        while self._pending is not None:
            waiter, self._pending = self._pending, None
            generation, tables, scrub = self._take_snapshot()
            self._inflight = (generation, waiter)
            try:
                await asyncio.to_thread(self._write, tables, generation, scrub)
            except asyncio.CancelledError:
                waiter.set_exception(StoreError(f"saving {self.path} was interrupted"))
                raise
            except Exception as exc:
                self._scrub_backup |= scrub
                waiter.set_exception(StoreError(f"could not save {self.path}: {exc}"))
            else:
                self._durable = max(self._durable, generation)
                waiter.set_result(None)
            finally:
                self._inflight = None

    def _take_snapshot(self) -> tuple[int, dict[str, dict], bool]:
        scrub, self._scrub_backup = self._scrub_backup, False
        return self._generation, dict(self._data), scrub

    def flush_sync(self) -> None:
        """Write pending changes now, blocking (start-up writes and shutdown paths)."""
        if self._durable >= self._generation or self.read_only:
            return
        generation, tables, scrub = self._take_snapshot()
        try:
            self._write(tables, generation, scrub)
        except Exception:
            self._scrub_backup |= scrub
            raise
        self._durable = max(self._durable, generation)

    async def wait_idle(self) -> None:
        """Let a running flush finish, then flush whatever is left."""
        if self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)
        await self.commit()

    def _write(self, tables: dict[str, dict], generation: int, scrub: bool) -> None:
        with self._lock:
            if generation <= self._written:
                return  # a later snapshot is already on disk
            fragments: dict[str, tuple[dict, bytes]] = {}
            for name, table in tables.items():
                cached = self._fragments.get(name)
                if isinstance(table, EncodedTable):  # kept as its line (bot.store.chats)
                    cached = (table, table.fragment)
                elif cached is None or cached[0] is not table:
                    # the concatenation is sized exactly; orjson's own buffer is not
                    cached = (table, orjson.dumps(name) + b":" + orjson.dumps(table))
                fragments[name] = cached
            self._fragments = fragments
            # ``.bak`` is always the version just before this one (a hard link: free), so
            # copying it back after damage loses one write, not a quarter of an hour of
            # "sent" rows (which would send those reminders again).
            rotate = not scrub and self.path.exists()
            write_atomic(
                self.path,
                encode_lines(part for _, part in fragments.values()),
                backup_before=rotate,
                backup_after=scrub,
            )
            self._written = generation
            self.flush_count += 1


class FastTable(Table):
    """TinyDB table with whole-document puts and uncopied reads.

    Documents are replaced, never edited in place: that keeps every table snapshot immutable
    for the flushing thread. Callers must treat ``raw``/``raw_doc`` results as read-only.
    """

    def raw(self) -> dict[str, Mapping[str, Any]]:
        return self._read_table()

    def raw_doc(self, doc_id: int) -> Mapping[str, Any] | None:
        return self._read_table().get(str(doc_id))

    def put(self, documents: Mapping[int, dict]) -> None:
        """Insert or replace documents by id, in one table rebuild."""
        self._update_table(lambda table: table.update(documents))
        self._next_id = None


class Database(TinyDB):
    table_class = FastTable

    def table(self, name: str, **kwargs: Any) -> FastTable:
        return super().table(name, **kwargs)  # type: ignore[return-value]

    @property
    def durable(self) -> DurableStorage:
        return self.storage  # type: ignore[return-value]


def open_database(
    path: Path, kind: str, *, read_only: bool = False, pack: Pack | None = None
) -> Database:
    """``pack``: what to keep in memory of each table read (``bot.store.files._parse``)."""
    return Database(path, kind, storage=DurableStorage, read_only=read_only, pack=pack)


def json_copy(value: Any) -> Any:
    """A deep copy that also proves the value can be saved (fails here, not in a flush)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError as exc:
        raise ValueError(f"not storable as JSON: {exc}") from None


def lock_data_dir(data_dir: Path, names: Iterable[str]) -> DirectoryLock:
    """Create the data dir (owner only), take the lock, and clear a crash's leftovers."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(PermissionError):
        os.chmod(data_dir, 0o700)
    lock = DirectoryLock(data_dir)
    remove_stale_temporaries(data_dir, names)
    return lock


class DirectoryLock:
    """One bot process per data dir: two writers would silently lose each other's changes."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / ".lock"
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.release()
            raise StoreError(
                f"{data_dir} is in use by another bot process; stop it first"
            ) from None

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
