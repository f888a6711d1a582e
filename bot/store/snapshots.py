"""Snapshots: one JSON file with every chat, delivery row, event and meta value.

``python -m bot backup [FILE]`` may run while the bot is serving (it reads the files, which are
only ever replaced atomically); ``python -m bot restore FILE`` checks the whole snapshot before
it touches anything and refuses to run while the bot holds the data dir. Content is left out:
it is rebuilt from ``content/`` at every start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import orjson
from pydantic import ValidationError

from bot.content.schema import ProtestEvent
from bot.store.chats import all_docs, shard_name
from bot.store.deliveries import (
    DELIVERY_BUCKETS,
    DELIVERY_STATES,
    OCCURRENCE_PREFIX,
    STATE_CODES,
    TOUCHED_DOC,
    TOUCHED_KEY,
)
from bot.store.engine import lock_data_dir
from bot.store.files import (
    MARKER_TABLE,
    StoreError,
    backup_path,
    marker,
    table_lines,
    write_atomic,
)
from bot.store.journal import journal_path
from bot.store.models import SETTINGS_FIELDS, ChatSettings, decode_settings, encode_settings
from bot.store.repository import DATA_NAMES, JOURNALED, Store

log = logging.getLogger(__name__)

SNAPSHOT_FORMAT = "zhanaozen-bot-snapshot"
SNAPSHOT_VERSION = 1


def write_snapshot(store: Store, path: Path) -> None:
    """Write everything but the content to one JSON file, atomically and consistently.

    Built in one synchronous pass over memory, so no write can slip in half-way.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, snapshot_bytes(store))


def snapshot_bytes(store: Store) -> bytes:
    """The snapshot file's content, from the store's memory (no second store opened)."""
    return snapshot_from_tables(store.snapshot_tables())


def snapshot_from_tables(tables: dict[str, dict[str, dict]]) -> bytes:
    """Encode ``Store.snapshot_tables`` as a snapshot file; reads only, safe in a thread."""
    chats = (decode_settings(chat_id, doc) for chat_id, doc in all_docs(tables["chats"]))
    deliveries = {
        name[len(OCCURRENCE_PREFIX) :]: {
            "day": table.get(TOUCHED_KEY, {}).get("day", 0),
            "rows": {
                int(chat_id): DELIVERY_STATES[code]
                for doc_id, rows in table.items()
                if doc_id != TOUCHED_KEY
                for chat_id, code in rows.items()
            },
        }
        for name, table in tables["deliveries"].items()
        if name.startswith(OCCURRENCE_PREFIX)
    }
    events = list(tables["events"].get("events", {}).values())
    meta = tables["events"].get("meta", {}).get("1", {})
    return _encode(chats, deliveries, events, meta)


def backup(data_dir: Path, out: Path | None = None) -> Path:
    """Write a snapshot to ``out`` (a file, or a directory to put a dated file in)."""
    store = Store.open(Path(data_dir), read_only=True)  # no lock: the bot may be running
    if out is None:
        out = store.data_dir / "backups"
        out.mkdir(mode=0o700, exist_ok=True)
    out = Path(out)
    if out.is_dir():
        out = out / f"snapshot-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    write_snapshot(store, out)
    return out


def restore(data_dir: Path, snapshot: Path) -> None:
    """Replace chats, deliveries, events and meta with a snapshot, checked first; raises
    StoreError, changing nothing, if it is not usable.

    The current files are kept as ``<file>.pre-restore``; refused while the bot runs.
    """
    data_dir, snapshot = Path(data_dir), Path(snapshot)
    files = read_snapshot(snapshot)  # raises before anything is touched
    lock = lock_data_dir(data_dir, DATA_NAMES)
    try:
        kept = [data_dir / f"{kind}.json" for kind in files]
        kept += [journal_path(data_dir / f"{kind}.json") for kind in JOURNALED]
        for path in kept:
            if path.exists():
                write_atomic(path.with_name(path.name + ".pre-restore"), path.read_bytes())
        for kind, tables in files.items():
            write_atomic(data_dir / f"{kind}.json", table_lines(tables), backup_after=True)
        for kind in JOURNALED:  # their rows are the old store's: never replayed onto these
            journal_path(data_dir / f"{kind}.json").unlink(missing_ok=True)
            backup_path(journal_path(data_dir / f"{kind}.json")).unlink(missing_ok=True)
    finally:
        lock.release()


def _encode(
    chats: Iterable[ChatSettings],
    deliveries: dict[str, dict[str, Any]],
    events: list[dict],
    meta: Mapping[str, Any],
) -> bytes:
    document = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "chats": [{name: getattr(chat, name) for name in SETTINGS_FIELDS} for chat in chats],
        "deliveries": deliveries,
        "events": events,
        "meta": meta,
    }
    return orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)


AGE_SUFFIX = ".json.age"


def encrypt_snapshot(recipient: str, tables: dict[str, dict[str, dict]]) -> bytes:
    """Encode the live store's tables (``Store.snapshot_tables``) and encrypt them, in one
    worker thread: the plain text exists only there, and only until it is encrypted."""
    return encrypt_to(recipient, snapshot_from_tables(tables))


def encrypt_to(recipient: str, snapshot: bytes) -> bytes:
    """The snapshot encrypted with age to one public key (``age1…``): only the holder of the
    matching private key, kept off the server, can read it (``age -d -i key.txt``)."""
    import pyrage

    return pyrage.encrypt(snapshot, [pyrage.x25519.Recipient.from_str(recipient)])


class _Refused(Exception):
    pass


MAX_OCCURRENCE = 64
"""Characters of a delivery log's key, as ``DeliveryLog.set`` allows."""
LANGUAGE_CODES = frozenset({"en", "ru", "kk"})
"""Languages a restored chat may have (the catalogues under ``locales/``)."""


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _restored_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The meta values a restored bot acts on, each checked, a bad one dropped with a
    warning (keys it does not read pass through). A fan-out in progress is never resumed
    from a snapshot: a planted broadcast would go to every subscriber in the campaign's
    name, and a real one an organiser can send again."""
    kept: dict[str, Any] = {}
    for key, value in meta.items():
        if key == "reminders.last_swept" and isinstance(value, str):
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                when = None
            if when is not None and when.tzinfo is not None:
                kept[key] = value
                continue
        elif key == "reminders.log_format" and value == 2:
            kept[key] = value
            continue
        elif key == "fanouts":
            if value == {}:
                continue
        elif not key.startswith("reminders."):
            kept[key] = value  # not read by this bot: passed on as it came
            continue
        log.warning(
            "restore: meta value %r dropped (%s)",
            key[:40],
            "a fan-out in progress is not resumed from a snapshot; send it again"
            if key == "fanouts"
            else "not one the bot reads, or not valid",
        )
    return kept


def _chat_problem(settings: ChatSettings) -> str | None:
    if settings.timezone not in _zones():
        return "unknown time zone"
    if settings.language is not None and settings.language not in LANGUAGE_CODES:
        return "unknown language"
    return None


def read_snapshot(path: Path) -> dict[str, dict[str, dict]]:
    """Check a snapshot and turn it into the tables of each data file.

    Raises StoreError naming the file and the first problem; nothing is written here.
    """
    try:
        return _tables(_load(path))
    except _Refused as exc:
        raise StoreError(f"refusing to restore {path}: {exc}; nothing was changed") from None


def _load(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _Refused(f"cannot read it ({exc.strerror or exc})") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _Refused(f"it is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        raise _Refused("it is not a snapshot written by `python -m bot backup`")
    if data.get("version") != SNAPSHOT_VERSION:
        raise _Refused(f"unsupported snapshot version {data.get('version')!r}")
    for key, kind in (("chats", list), ("deliveries", dict), ("events", list), ("meta", dict)):
        if not isinstance(data.get(key), kind):
            raise _Refused(f"{key!r} is missing or not a JSON {kind.__name__}")
    return data


def _tables(data: dict[str, Any]) -> dict[str, dict[str, dict]]:
    chats: dict[str, dict] = {MARKER_TABLE: marker("chats")}
    for number, item in enumerate(data["chats"], 1):
        try:
            settings = ChatSettings(**item)
            doc = encode_settings(settings)
        except (TypeError, ValueError) as exc:
            raise _Refused(f"chat #{number} is invalid ({exc})") from None
        if problem := _chat_problem(settings):  # one bad chat must not stop every sweep
            log.warning("restore: chat #%d skipped (%s)", number, problem)
            continue
        chats.setdefault(shard_name(settings.chat_id), {})[str(settings.chat_id)] = doc

    deliveries: dict[str, dict] = {MARKER_TABLE: marker("deliveries")}
    for occurrence, entry in data["deliveries"].items():
        rows = entry.get("rows") if isinstance(entry, dict) else None
        day = entry.get("day") if isinstance(entry, dict) else None
        if not isinstance(rows, dict) or not isinstance(day, int) or not occurrence:
            raise _Refused(f"delivery log {occurrence[:64]!r} is malformed")
        if len(occurrence) > MAX_OCCURRENCE:
            log.warning("restore: a delivery log with a %d-character key skipped", len(occurrence))
            continue
        table: dict[str, dict] = {str(TOUCHED_DOC): {"day": day}}
        for chat_id, state in rows.items():
            if not chat_id.lstrip("-").isdecimal() or state not in STATE_CODES:
                raise _Refused(f"delivery row {occurrence!r}/{chat_id!r} is invalid")
            bucket = table.setdefault(str(int(chat_id) % DELIVERY_BUCKETS), {})
            bucket[str(int(chat_id))] = STATE_CODES[state]
        deliveries[OCCURRENCE_PREFIX + occurrence] = table

    events: dict[str, dict] = {}
    for number, event in enumerate(data["events"], 1):
        if not isinstance(event, dict) or "id" not in event:
            raise _Refused(f"event #{number} has no 'id'")
        try:
            events[str(number)] = ProtestEvent.model_validate(event).model_dump(mode="json")
        except ValidationError as exc:
            raise _Refused(f"event {event['id']!r} is invalid ({_first_error(exc)})") from None
    meta = _restored_meta(data["meta"])
    return {
        "chats": chats,
        "deliveries": deliveries,
        "events": {MARKER_TABLE: marker("events"), "events": events, "meta": {"1": meta}},
    }


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "value"
    return f"{where}: {error['msg']}"
