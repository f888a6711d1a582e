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
keeps changing the data.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

FORMAT = "zhanaozen-bot"
VERSION = 1
MARKER_TABLE = "_store"


class StoreError(Exception):
    """The store cannot do what was asked (disk full, store closed, data dir in use...)."""


class StoreCorrupted(StoreError):
    """A data file cannot be trusted; the message names it and says how to restore it."""


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def fsync_dir(directory: Path) -> None:
    """Make a rename durable: without this a crash can bring the old directory entry back."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep_as_backup(path: Path) -> None:
    """Point ``<file>.bak`` at the current version (a hard link: no copy, atomic swap)."""
    target = backup_path(path)
    with contextlib.suppress(FileNotFoundError):
        if os.path.samefile(path, target):
            return  # renaming a link over itself would leave the temporary link behind
    temporary = path.with_name(f".{target.name}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        os.link(path, temporary)
    except OSError:  # file systems without hard links
        shutil.copyfile(path, temporary)
        os.chmod(temporary, 0o600)
    os.replace(temporary, target)


def write_atomic(path: Path, chunks: bytes | Iterable[bytes], *, backup_before: bool = False,
                 backup_after: bool = False) -> None:
    """Replace ``path`` with ``chunks`` all at once, readable by the owner only.

    ``backup_before`` keeps the version being replaced as ``.bak``; ``backup_after`` makes
    ``.bak`` the new version (used to scrub erased data from the backup as well).
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(chunks, bytes):
                handle.write(chunks)
            else:
                handle.writelines(chunks)
            handle.flush()
            os.fsync(handle.fileno())
        if backup_before and path.exists():
            _keep_as_backup(path)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if backup_after:
        _keep_as_backup(path)
    fsync_dir(path.parent)


def table_lines(tables: Mapping[str, dict]) -> list[bytes]:
    """The file layout: one table per line, so it can be parsed a table at a time."""
    return encode_lines(orjson.dumps(name) + b":" + orjson.dumps(table)
                        for name, table in tables.items())


def encode_lines(parts: Iterable[bytes]) -> list[bytes]:
    lines = [b"{\n"]
    for part in parts:
        lines += (part, b",\n")
    lines[-1] = b"\n}\n"
    return lines if len(lines) > 1 else [b"{}\n"]


def _parse(raw: bytes) -> Any:
    """Parse a data file a table (a line) at a time: peak memory stays near the file size.

    Anything not in that layout (say, re-indented by hand) is parsed whole instead.
    """
    if raw.startswith(b"{\n") and raw.endswith(b"\n}\n"):
        data, start, end = {}, 2, len(raw) - 3
        try:
            while start <= end:
                stop = raw.find(b",\n", start, end)
                stop = end if stop < 0 else stop
                data.update(orjson.loads(b"{" + raw[start:stop] + b"}"))
                start = stop + 2
        except orjson.JSONDecodeError:
            pass
        else:
            return data
    return orjson.loads(raw)


def remove_stale_temporaries(directory: Path, names: Iterable[str]) -> None:
    """Temporary files left by a crash are never valid data: delete them at open."""
    for name in names:
        for leftover in directory.glob(f".{name}*.tmp"):
            leftover.unlink(missing_ok=True)


def marker(kind: str) -> dict[str, dict]:
    return {"1": {"format": FORMAT, "kind": kind, "version": VERSION}}


def _problem(data: Any, kind: str) -> str | None:
    """Why ``data`` is not a store file of this kind, or None when it is one."""
    if not isinstance(data, dict):
        return "not a bot data file (the top level is not a JSON object)"
    tag = data.get(MARKER_TABLE, {}).get("1") if isinstance(data.get(MARKER_TABLE), dict) else None
    if not isinstance(tag, dict) or tag.get("format") != FORMAT:
        return "not a bot data file (no store marker)"
    if tag.get("kind") != kind:
        return f"holds {tag.get('kind')!r} data, not {kind!r}"
    if not isinstance(tag.get("version"), int) or tag["version"] > VERSION:
        return f"written by a newer version of the bot (format {tag.get('version')!r})"
    for name, table in data.items():
        if not isinstance(table, dict):
            return f"table {name!r} is not a JSON object"
        for doc_id, document in table.items():
            if not isinstance(document, dict) or not doc_id.lstrip("-").isdecimal():
                return f"table {name!r} has a malformed document {doc_id!r}"
    return None


def _check(path: Path, kind: str) -> tuple[dict | None, str | None]:
    """Read a data file: (data, None) if usable, else (None, why); FileNotFoundError passes."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if not raw:
        return None, "is empty"
    try:
        data = _parse(raw)
    except orjson.JSONDecodeError as exc:
        return None, f"is not valid JSON ({exc})"
    problem = _problem(data, kind)
    return (None, problem) if problem else (data, None)


def corruption_message(path: Path, kind: str, reason: str) -> str:
    """One line for a platform log: what is wrong, that nothing was changed, how to restore."""
    backup = backup_path(path)
    try:
        usable = _check(backup, kind)[1] is None
    except FileNotFoundError:
        usable = False
    if usable:
        how = (f"to restore, stop the bot and copy the automatic backup over it "
               f"(cp {backup} {path}), or run `python -m bot restore SNAPSHOT`")
    else:
        how = ("no usable automatic backup exists next to it; restore a snapshot with "
               "`python -m bot restore SNAPSHOT`")
    return f"{path} {reason}; the file was left untouched; {how}"


def load_tables(path: Path, kind: str) -> dict[str, dict] | None:
    """Read and check a data file; None means a new, empty store (no file, no backup)."""
    try:
        data, problem = _check(path, kind)
    except FileNotFoundError:
        if backup_path(path).exists():
            raise StoreCorrupted(corruption_message(path, kind, "is missing")) from None
        return None
    if problem:
        raise StoreCorrupted(corruption_message(path, kind, problem))
    return data


def _retrieve(future: asyncio.Future) -> None:
    """Mark a shared outcome as seen even when every waiter was cancelled."""
    if not future.cancelled():
        future.exception()


class DurableStorage(Storage):
    """In-memory TinyDB storage with group-committed, atomic, fsynced file replaces."""

    def __init__(self, path: Path, kind: str, *, read_only: bool = False) -> None:
        super().__init__()
        self.path = path
        self.kind = kind
        self.read_only = read_only
        self.flush_count = 0
        """Completed file replaces; tests use it to check batching."""
        loaded = load_tables(path, kind)
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
                if cached is None or cached[0] is not table:
                    # the concatenation is sized exactly; orjson's own buffer is not
                    cached = (table, orjson.dumps(name) + b":" + orjson.dumps(table))
                fragments[name] = cached
            self._fragments = fragments
            # ``.bak`` is always the version just before this one (a hard link: free), so
            # copying it back after damage loses one write, not a quarter of an hour of
            # "sent" rows (which would send those reminders again).
            rotate = not scrub and self.path.exists()
            write_atomic(self.path, encode_lines(part for _, part in fragments.values()),
                         backup_before=rotate, backup_after=scrub)
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


def open_database(path: Path, kind: str, *, read_only: bool = False) -> Database:
    return Database(path, kind, storage=DurableStorage, read_only=read_only)


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
            raise StoreError(f"{data_dir} is in use by another bot process; stop it "
                             f"first") from None

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
