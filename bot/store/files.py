"""The store's files on disk: their format, atomic replaces, and the checks made on loading.

A data file is JSON, one table per line, with a marker table naming the bot, the format version
and the kind of file, so a file copied into the wrong place or damaged is refused with a
message that says how to restore it, instead of being read as an empty store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from itertools import repeat
from pathlib import Path
from typing import Any, BinaryIO

import orjson

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


def write_atomic(
    path: Path,
    chunks: bytes | Iterable[bytes],
    *,
    backup_before: bool = False,
    backup_after: bool = False,
) -> None:
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
    return encode_lines(
        orjson.dumps(name) + b":" + orjson.dumps(table) for name, table in tables.items()
    )


def encode_lines(parts: Iterable[bytes]) -> list[bytes]:
    lines = [b"{\n"]
    for part in parts:
        lines += (part, b",\n")
    lines[-1] = b"\n}\n"
    return lines if len(lines) > 1 else [b"{}\n"]


Pack = Callable[[str, dict[str, Any]], Any]
"""A loading hook: what to keep in memory for a table just read and checked (its line)."""


class EncodedTable:
    """A table kept in memory as its line of the file (``"name":{...}``, without the comma):
    written as it is, decoded by its owner when read (``bot.store.chats``). Immutable."""

    __slots__ = ("count", "fragment")

    def __init__(self, fragment: bytes, count: int) -> None:
        self.fragment = fragment
        self.count = count
        """Documents in it."""


def _parse(handle: BinaryIO, pack: Pack | None = None) -> tuple[Any, str | None]:
    """Parse a data file a table (a line) at a time, as it is read: the whole file is never
    in memory at once (at 1,000,000 chats, 69 MB of ``chats.json``).

    Each table is checked (``_table_problem``) and, when ``pack`` is given, replaced by what
    it returns as soon as its line is read, so the parsed documents of only one line exist
    at a time. Returns the data and the first problem found in a table, if any. Anything not
    in that layout (say, re-indented by hand) is read and parsed whole instead. Raises
    ``_Empty``, ``orjson.JSONDecodeError`` and ``OSError``.
    """
    first = handle.readline()
    if not first:
        raise _Empty
    if first == b"{\n":
        data: dict[str, Any] = {}
        problem = None
        try:
            line = handle.readline()
            while True:
                last = not line.endswith(b",\n")  # JSON strings hold no raw newline
                if last and not line.endswith(b"\n"):
                    break
                chunk = b"{" + line[: -1 if last else -2] + b"}"
                for name, table in orjson.loads(chunk).items():
                    problem = problem or _table_problem(name, table)
                    data[name] = pack(name, table) if pack and not problem else table
                if last:
                    if handle.readline() == b"}\n" and not handle.read(1):
                        return data, problem
                    break
                line = handle.readline()
        except orjson.JSONDecodeError:
            pass
        del data
    handle.seek(0)
    whole = orjson.loads(handle.read())
    if not isinstance(whole, dict):
        return whole, None
    problem = next(filter(None, (_table_problem(n, t) for n, t in whole.items())), None)
    if pack and not problem:
        whole = {name: pack(name, table) for name, table in whole.items()}
    return whole, problem


class _Empty(Exception):
    pass


def _table_problem(name: str, table: Any) -> str | None:
    """Why one table of a data file is malformed, or None."""
    if not isinstance(table, dict):
        return f"table {name!r} is not a JSON object"
    # Passes in C over every document first (a third of opening 100,000 chats, in Python);
    # the loop below is for a table that fails them, to name the culprit.
    ids = list(map(str.lstrip, table, repeat("-")))
    if all(ids) and "".join(ids).isdecimal() and set(map(type, table.values())) <= {dict}:
        return None
    for doc_id, document in table.items():
        if not isinstance(document, dict) or not doc_id.lstrip("-").isdecimal():
            return f"table {name!r} has a malformed document {doc_id!r}"
    return None


def remove_stale_temporaries(directory: Path, names: Iterable[str]) -> None:
    """Temporary files left by a crash are never valid data: delete them at open."""
    for name in names:
        for leftover in directory.glob(f".{name}*.tmp"):
            leftover.unlink(missing_ok=True)


def marker(kind: str) -> dict[str, dict]:
    return {"1": {"format": FORMAT, "kind": kind, "version": VERSION}}


def _problem(data: Any, kind: str) -> str | None:
    """Why ``data`` is not a store file of this kind, or None when it is one (its tables
    are checked as they are parsed: ``_table_problem``)."""
    if not isinstance(data, dict):
        return "not a bot data file (the top level is not a JSON object)"
    tag = data.get(MARKER_TABLE, {}).get("1") if isinstance(data.get(MARKER_TABLE), dict) else None
    if not isinstance(tag, dict) or tag.get("format") != FORMAT:
        return "not a bot data file (no store marker)"
    if tag.get("kind") != kind:
        return f"holds {tag.get('kind')!r} data, not {kind!r}"
    if not isinstance(tag.get("version"), int) or tag["version"] > VERSION:
        return f"written by a newer version of the bot (format {tag.get('version')!r})"
    return None


def _check(path: Path, kind: str, pack: Pack | None = None) -> tuple[dict | None, str | None]:
    """Read a data file: (data, None) if usable, else (None, why); FileNotFoundError passes."""
    try:
        with path.open("rb") as handle:
            data, problem_in_a_table = _parse(handle, pack)
    except FileNotFoundError:
        raise
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    except _Empty:
        return None, "is empty"
    except orjson.JSONDecodeError as exc:
        return None, f"is not valid JSON ({exc})"
    problem = _problem(data, kind) or problem_in_a_table
    return (None, problem) if problem else (data, None)


def corruption_message(path: Path, kind: str, reason: str) -> str:
    """One line for a platform log: what is wrong, that nothing was changed, how to restore."""
    backup = backup_path(path)
    try:
        usable = _check(backup, kind)[1] is None
    except FileNotFoundError:
        usable = False
    if usable:
        how = (
            f"to restore, stop the bot and copy the automatic backup over it "
            f"(cp {backup} {path}), or run `python -m bot restore SNAPSHOT`"
        )
    else:
        how = (
            "no usable automatic backup exists next to it; restore a snapshot with "
            "`python -m bot restore SNAPSHOT`"
        )
    return f"{path} {reason}; the file was left untouched; {how}"


def load_tables(path: Path, kind: str, pack: Pack | None = None) -> dict[str, Any] | None:
    """Read and check a data file; None means a new, empty store (no file, no backup).

    ``pack`` (see ``_parse``) chooses what is kept in memory of each table.
    """
    try:
        data, problem = _check(path, kind, pack)
    except FileNotFoundError:
        if backup_path(path).exists():
            raise StoreCorrupted(corruption_message(path, kind, "is missing")) from None
        return None
    if problem:
        raise StoreCorrupted(corruption_message(path, kind, problem))
    return data
