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

A storage opened with a journal (``deliveries.json``) commits changes made by ``apply_patch``
alone (delivery rows, told marks) by appending them to ``<name>.journal`` instead: a commit
then costs what changed, not the size of the delivery log. Any other change, a scrub, or a
journal grown past the file's size replaces the file as above and starts a new journal; the
journal is replayed at open (``bot.store.journal``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
    backup_path,
    encode_lines,
    load_tables,
    marker,
    remove_stale_temporaries,
    write_atomic,
)
from bot.store.journal import (
    EPOCH_KEY,
    JournalContents,
    JournalWriter,
    Patch,
    apply_in_place,
    journal_path,
    read_journal,
)

log = logging.getLogger(__name__)

JOURNAL_MIN_BYTES = 1 << 20
"""The journal is folded into the file once it outgrows this and the file itself: the
amortised cost of a compaction then stays below that of the appends that made it."""


def _retrieve(future: asyncio.Future) -> None:
    """Mark a shared outcome as seen even when every waiter was cancelled."""
    if not future.cancelled():
        future.exception()


class DurableStorage(Storage):
    """In-memory TinyDB storage with group-committed, atomic, fsynced file replaces."""

    def __init__(
        self,
        path: Path,
        kind: str,
        *,
        read_only: bool = False,
        pack: Pack | None = None,
        journal: Path | None = None,
    ) -> None:
        super().__init__()
        self.path = path
        self.kind = kind
        self.read_only = read_only
        self.flush_count = 0
        """Completed commits (file replaces and journal appends); tests use it for batching."""
        self.replace_count = 0
        """Completed file replaces alone."""
        self._journal_path = journal
        self._journal: JournalWriter | None = None  # None: the next commit replaces the file
        self._patches: list[Patch] = []  # changes since the last snapshot, if all are patches
        self._whole = False  # a change since the last snapshot that only the file can hold
        self._outstanding = 0  # snapshots taken and not yet written
        self._pack = pack
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
        self._epoch = 0
        """The highest epoch in the file or any journal beside it: the next replace takes a
        higher one, so no journal on disk can ever match a later file."""
        loaded, replayed = self._load()
        self._data = loaded if loaded is not None else {MARKER_TABLE: marker(kind)}
        self._epoch = max(self._epoch, _epoch(self._data))
        self._file_size = self._size_on_disk()
        if read_only:
            return
        if loaded is None or (journal is not None and replayed is None):
            self._generation = 1  # a new store, or a journal to start (or to compact)
            self._whole = True
            self.flush_sync()
        elif journal is not None and replayed is not None:
            self._journal = JournalWriter(journal, replayed.size)
            self._journal.records = len(replayed.commits)

    def _load(self) -> tuple[dict[str, dict] | None, JournalContents | None]:
        """The file with its journal replayed, and the journal if appends can go on in it.

        A journal of a newer epoch than the file means a compaction ran between the two reads
        (a read-only open beside the running bot): read both again. A file whose epoch is
        that of ``<journal>.bak`` is the ``.bak`` copied back by hand: that journal, then
        the next epoch's, bring it up to the last replace but one, as before the journal.
        """
        journal = self._journal_path
        if journal is None:
            return load_tables(self.path, self.kind, self._pack), None
        for _attempt in range(5):
            loaded = load_tables(self.path, self.kind, self._pack)
            found = read_journal(journal, self.kind)
            epoch = _epoch(loaded) if loaded is not None else 0
            if not (self.read_only and found.epoch is not None and found.epoch > epoch):
                break
        if loaded is None:
            self._epoch = found.epoch or 0
            return None, None
        older = read_journal(backup_path(journal), self.kind)
        self._epoch = max(epoch, found.epoch or 0, older.epoch or 0)
        chain = [older] if older.epoch == epoch else []
        if found.epoch == epoch or (chain and found.epoch == epoch + 1):
            chain.append(found)
        elif found.epoch is not None and found.epoch > epoch:
            log.warning(
                "%s belongs to a newer %s than the one on disk (restored by hand?): "
                "ignored, its rows are lost",
                journal.name,
                self.path.name,
            )
        for contents in chain:
            for patches in contents.commits:
                for patch in patches:
                    apply_in_place(loaded, patch)
        appendable = len(chain) == 1 and chain[0] is found and not found.torn
        return loaded, found if appendable else None

    def _size_on_disk(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    # TinyDB's storage interface -----------------------------------------------------------
    def read(self) -> dict[str, dict]:
        return self._data

    def write(self, data: dict[str, dict]) -> None:
        if self.read_only or self._closed:
            raise StoreError(f"{self.path.name} is {'read-only' if self.read_only else 'closed'}")
        self._data = data
        self._generation += 1
        self._whole = True

    def apply_patch(self, patch: Patch) -> None:
        """Set fields of documents (copy-on-write); with a journal, the commit appends just this.

        The patch is kept until the commit encodes it: callers must not change it afterwards.
        """
        if self.read_only or self._closed:
            raise StoreError(f"{self.path.name} is {'read-only' if self.read_only else 'closed'}")
        data = self._data
        for name, documents in patch.items():
            table = dict(data.get(name, {}))
            for doc_id, fields in documents.items():
                table[doc_id] = {**table.get(doc_id, {}), **fields}
            data[name] = table
        self._generation += 1
        self._patches.append(patch)

    @property
    def generation(self) -> int:
        """Bumped by every change: what is derived from the data stays valid while it holds."""
        return self._generation

    def close(self) -> None:
        self._closed = True
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    # Durability ---------------------------------------------------------------------------
    def compact_sync(self) -> None:
        """Fold the journal into the file (a clean stop leaves it all in the file)."""
        if self._journal is not None and self._journal.records and not self._closed:
            self._whole = True
            self._generation += 1
            self.flush_sync()

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
            snapshot = self._take_snapshot()
            self._inflight = (snapshot.generation, waiter)
            try:
                await asyncio.to_thread(self._write, snapshot)
            except asyncio.CancelledError:
                self._failed(snapshot)
                waiter.set_exception(StoreError(f"saving {self.path} was interrupted"))
                raise
            except Exception as exc:
                self._failed(snapshot)
                waiter.set_exception(StoreError(f"could not save {self.path}: {exc}"))
            else:
                self._durable = max(self._durable, snapshot.generation)
                waiter.set_result(None)
            finally:
                self._outstanding -= 1
                self._inflight = None

    def _take_snapshot(self) -> _Snapshot:
        scrub, self._scrub_backup = self._scrub_backup, False
        patches, self._patches = self._patches, []
        # A snapshot taken while an older one is still unwritten replaces the file: if it is
        # written first, the older one is skipped, and only the file holds both.
        whole = self._whole or scrub or self._outstanding > 0
        self._whole = False
        self._outstanding += 1
        return _Snapshot(self._generation, dict(self._data), scrub, whole, patches)

    def _failed(self, snapshot: _Snapshot) -> None:
        """A write failed: its patches are gone with it, so the next write is the whole file."""
        self._scrub_backup |= snapshot.scrub
        self._whole = True

    def flush_sync(self) -> None:
        """Write pending changes now, blocking (start-up writes and shutdown paths)."""
        if self._durable >= self._generation or self.read_only:
            return
        snapshot = self._take_snapshot()
        try:
            self._write(snapshot)
        except BaseException:
            self._failed(snapshot)
            raise
        finally:
            self._outstanding -= 1
        self._durable = max(self._durable, snapshot.generation)

    async def wait_idle(self) -> None:
        """Let a running flush finish, then flush whatever is left."""
        if self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)
        await self.commit()

    def _write(self, snapshot: _Snapshot) -> None:
        with self._lock:
            if snapshot.generation <= self._written:
                return  # a later snapshot is already on disk
            journal = self._journal
            if (
                journal is not None
                and not snapshot.whole
                and journal.size <= max(JOURNAL_MIN_BYTES, self._file_size)
            ):
                try:
                    journal.append(orjson.dumps(snapshot.patches))
                except BaseException:
                    journal.close()
                    self._journal = None  # what it holds past here is unknown
                    raise
            else:
                self._replace(snapshot.tables, snapshot.scrub)
            self._written = snapshot.generation
            self.flush_count += 1

    def _replace(self, tables: dict[str, dict], scrub: bool) -> None:
        """Replace the file with every table; with a journal, under the next epoch, then
        start that epoch's empty journal (the old one, replaced, is gone with its rows)."""
        epoch = self._epoch + 1 if self._journal_path is not None else self._epoch
        if self._journal_path is not None:
            tables[MARKER_TABLE] = {"1": {**marker(self.kind)["1"], EPOCH_KEY: epoch}}
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
        lines = encode_lines(part for _, part in fragments.values())
        write_atomic(
            self.path,
            lines,
            backup_before=rotate,
            backup_after=scrub or (self._journal_path is not None and not rotate),
        )
        self._file_size = sum(len(line) for line in lines)
        self.replace_count += 1
        if self._journal_path is not None:
            self._epoch = epoch
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            # The journal goes with the file it belongs to: kept as ``<journal>.bak`` beside
            # ``.bak``, erased with it on a scrub.
            kept = backup_path(self._journal_path)
            if scrub:
                kept.unlink(missing_ok=True)
            with contextlib.suppress(FileNotFoundError):
                if not scrub:
                    os.replace(self._journal_path, kept)
            self._journal = JournalWriter.start(self._journal_path, self.kind, epoch)


@dataclass
class _Snapshot:
    """What one commit writes: the tables as they were, and the patches since the last one."""

    generation: int
    tables: dict[str, dict]
    scrub: bool
    whole: bool
    patches: list[Patch]


def _epoch(data: Mapping[str, Any]) -> int:
    table = data.get(MARKER_TABLE)
    tag = table.get("1") if isinstance(table, dict) else None
    epoch = tag.get(EPOCH_KEY, 0) if isinstance(tag, dict) else 0
    return epoch if isinstance(epoch, int) else 0


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
    path: Path,
    kind: str,
    *,
    read_only: bool = False,
    pack: Pack | None = None,
    journal: bool = False,
) -> Database:
    """``pack``: what to keep in memory of each table read (``bot.store.files._parse``).
    ``journal``: commits that only set fields append to ``<name>.journal`` (see
    ``bot.store.journal``) instead of replacing the file."""
    return Database(
        path,
        kind,
        storage=DurableStorage,
        read_only=read_only,
        pack=pack,
        journal=journal_path(path) if journal else None,
    )


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
