"""The delivery log's journal: commits write what changed, and nothing is lost or comes back."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import orjson
import pytest

from bot.store import engine, journal
from bot.store.journal import read_journal
from bot.store.repository import Store, StoreError
from bot.store.snapshots import restore, write_snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
from make_deliveries_v1 import PROTEST, expected_rows, told  # noqa: E402

BIG_ID = 987_654_321_987


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def journal_of(data_dir: Path) -> Path:
    return data_dir / "deliveries.journal"


def files_holding(directory: Path, text: str) -> list[str]:
    return [p.name for p in directory.iterdir() if p.is_file() and text.encode() in p.read_bytes()]


def old_data_dir(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700)
    shutil.copyfile(FIXTURES / "deliveries-v1" / "deliveries.json", data_dir / "deliveries.json")


def storage(store: Store) -> engine.DurableStorage:
    return store._deliveries_db.durable


async def test_row_commits_append_and_survive_a_crash(data_dir: Path) -> None:
    store = Store.open(data_dir)
    await store.deliveries.set([("big", chat, "pending") for chat in range(5000)])
    replaces = storage(store).replace_count
    file_bytes = (data_dir / "deliveries.json").read_bytes()
    before = journal_of(data_dir).stat().st_size
    await store.deliveries.set([("big", chat, "sent") for chat in range(10)])
    grown = journal_of(data_dir).stat().st_size - before
    assert storage(store).replace_count == replaces, "the file was rewritten"
    assert (data_dir / "deliveries.json").read_bytes() == file_bytes
    assert 0 < grown < 400, f"{grown} bytes for 10 rows"
    store._close()  # a crash: no compaction at close

    reopened = Store.open(data_dir)
    rows = reopened.deliveries.rows("big")
    assert len(rows) == 5000 and sum(state == "sent" for state in rows.values()) == 10
    assert reopened.deliveries.counts()["sent"] == 10
    await reopened.aclose()


@pytest.mark.parametrize("damage", ["cut", "garbage", "flipped"])
async def test_a_torn_last_record_is_dropped_alone(data_dir: Path, damage: str) -> None:
    store = Store.open(data_dir)
    await store.deliveries.set([("o", 1, "sent"), ("o", 2, "pending")])
    kept = journal_of(data_dir).stat().st_size
    await store.deliveries.set([("o", 2, "sent"), ("o", 3, "pending")])
    store._close()
    path = journal_of(data_dir)
    raw = path.read_bytes()
    if damage == "cut":
        path.write_bytes(raw[:-3])
    elif damage == "garbage":
        path.write_bytes(raw[:kept] + b"\x00\x01\x02")
    else:  # still valid JSON: only the checksum tells
        assert raw.endswith(b'"3":0}}}]')
        path.write_bytes(raw[: -len(b"0}}}]")] + b"1}}}]")

    reopened = Store.open(data_dir)
    assert reopened.deliveries.rows("o") == {1: "sent", 2: "pending"}
    assert read_journal(path, "deliveries").torn is False, "the journal was not restarted"
    await reopened.deliveries.set([("o", 4, "sent")])
    reopened._close()
    again = Store.open(data_dir)
    assert again.deliveries.rows("o") == {1: "sent", 2: "pending", 4: "sent"}
    await again.aclose()


async def test_rows_and_marks_told_share_one_record(data_dir: Path) -> None:
    store = Store.open(data_dir)
    await store.set_deliveries_telling([("e:p:1", 5, "pending")], [("p", 5)])  # makes the secret
    await store.set_deliveries_telling([("e:p:1", 6, "pending")], [("p", 6)])
    last = read_journal(journal_of(data_dir), "deliveries").commits[-1]
    tables = {name for patch in last for name in patch}
    assert "o:e:p:1" in tables and any(name.startswith("p:p:") for name in tables)
    store._close()
    reopened = Store.open(data_dir)
    assert reopened.marks.was_told("p", 6) and reopened.deliveries.state("e:p:1", 6) == "pending"
    await reopened.aclose()


async def test_forget_leaves_nothing_in_the_journal(data_dir: Path) -> None:
    store = Store.open(data_dir)
    await store.deliveries.set([("a", BIG_ID, "sent"), ("a", 1, "sent")])
    assert str(BIG_ID).encode() in journal_of(data_dir).read_bytes()
    stale = journal_of(data_dir).read_bytes()
    await store.forget_chat(BIG_ID)
    assert files_holding(data_dir, str(BIG_ID)) == []
    store._close()

    journal_of(data_dir).write_bytes(stale)  # a journal of an older epoch is never replayed
    reopened = Store.open(data_dir)
    assert reopened.deliveries.rows("a") == {1: "sent"}
    await reopened.aclose()
    assert str(BIG_ID).encode() not in journal_of(data_dir).read_bytes()


async def test_a_long_journal_is_folded_into_the_file(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "JOURNAL_MIN_BYTES", 2000)
    store = Store.open(data_dir)
    replaces = storage(store).replace_count
    for n in range(40):
        await store.deliveries.set([("o", chat, "sent") for chat in range(n * 20, n * 20 + 20)])
        assert journal_of(data_dir).stat().st_size < 5000
    assert storage(store).replace_count > replaces
    store._close()
    reopened = Store.open(data_dir)
    assert len(reopened.deliveries.rows("o")) == 800
    await reopened.aclose()


async def test_a_clean_stop_leaves_everything_in_the_file(data_dir: Path) -> None:
    store = Store.open(data_dir)
    await store.deliveries.set([("o", 7, "sent")])
    await store.aclose()
    assert read_journal(journal_of(data_dir), "deliveries").commits == []
    tables = orjson.loads((data_dir / "deliveries.json").read_bytes())
    assert tables["o:o"][str(7 % 64)] == {"7": 1}


async def test_a_reader_beside_the_bot_sees_journaled_rows(data_dir: Path) -> None:
    store = Store.open(data_dir)
    await store.deliveries.set([("o", 1, "sent")])
    reader = Store.open(data_dir, read_only=True)
    assert reader.deliveries.rows("o") == {1: "sent"}
    await store.aclose()


async def test_a_failed_append_makes_the_next_commit_replace_the_file(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(data_dir)
    await store.deliveries.set([("o", 1, "sent")])

    def full_disk(self, payload: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal.JournalWriter, "append", full_disk)
    with pytest.raises(StoreError, match="No space left"):
        await store.deliveries.set([("o", 2, "sent")])
    monkeypatch.undo()
    replaces = storage(store).replace_count
    await store.deliveries.set([("o", 3, "sent")])
    assert storage(store).replace_count == replaces + 1
    store._close()
    reopened = Store.open(data_dir)
    assert reopened.deliveries.rows("o") == {1: "sent", 2: "sent", 3: "sent"}
    await reopened.aclose()


async def test_restore_drops_the_journal_of_the_store_it_replaces(
    data_dir: Path, tmp_path: Path
) -> None:
    store = Store.open(data_dir)
    await store.deliveries.set([("o", 1, "sent")])
    await store.marks.set_coming("p", 9, True)  # a replace: the journal is kept as .bak
    write_snapshot(store, tmp_path / "snapshot.json")
    await store.deliveries.set([("o", 2, "sent")])
    store._close()
    restore(data_dir, tmp_path / "snapshot.json")
    assert not journal_of(data_dir).exists()
    assert not (data_dir / "deliveries.journal.bak").exists()
    assert (data_dir / "deliveries.journal.pre-restore").exists()
    reopened = Store.open(data_dir)
    assert reopened.deliveries.rows("o") == {1: "sent"}
    await reopened.aclose()


async def test_a_file_written_before_the_journal_is_read_and_upgraded(data_dir: Path) -> None:
    old_data_dir(data_dir)
    old = orjson.loads((data_dir / "deliveries.json").read_bytes())
    assert "journal" not in old["_store"]["1"], "the fixture is not an old file"
    for _ in range(2):  # the upgrade, then a start on the upgraded files
        store = Store.open(data_dir)
        for occurrence, rows in expected_rows().items():
            assert store.deliveries.rows(occurrence) == rows
        assert all(store.marks.was_told(PROTEST, chat) for chat in told())
        assert not store.marks.was_told(PROTEST, max(told()) + 1)
        await store.deliveries.set([("new", 1, "sent")])
        await store.aclose()
    assert orjson.loads((data_dir / "deliveries.json").read_bytes())["_store"]["1"]["journal"] > 0


async def test_a_commit_overtaking_an_unwritten_one_writes_both(data_dir: Path) -> None:
    """A blocking flush while the flusher's snapshot waits for its thread: whichever is
    written first, the rows of both reach the disk."""
    store = Store.open(data_dir)
    durable = storage(store)
    store.deliveries.apply_rows([("o", 1, 1)])
    older = durable._take_snapshot()  # the flusher's, not yet written
    store.deliveries.apply_rows([("o", 2, 1)])
    durable.flush_sync()
    durable._write(older)  # its thread runs last: nothing left for it to do
    durable._outstanding -= 1
    store._close()
    reopened = Store.open(data_dir)
    assert reopened.deliveries.rows("o") == {1: "sent", 2: "sent"}
    await reopened.aclose()


def copy_backup_back(data_dir: Path) -> None:
    shutil.copyfile(data_dir / "deliveries.json.bak", data_dir / "deliveries.json")


async def test_copying_the_backup_back_loses_one_write_as_before(data_dir: Path) -> None:
    """``.bak`` is the file before the latest replace; the journal kept beside it, then the
    current one, bring back every row logged since (the message a damaged file prints)."""
    store = Store.open(data_dir)
    await store.deliveries.set([("o", 1, "sent")])  # journaled
    await store.marks.set_coming("p", 9, True)  # not a patch: the file is replaced
    await store.deliveries.set([("o", 2, "sent")])  # journaled under the new epoch
    store._close()
    copy_backup_back(data_dir)
    reopened = Store.open(data_dir)
    assert reopened.deliveries.rows("o") == {1: "sent", 2: "sent"}
    assert reopened.marks.coming_count("p") == 0  # the one write lost, as before the journal
    await reopened.deliveries.set([("o", 3, "sent")])
    reopened._close()
    again = Store.open(data_dir)
    assert again.deliveries.rows("o") == {1: "sent", 2: "sent", 3: "sent"}
    await again.aclose()


KILLED_WRITER = """
import asyncio, sys
from pathlib import Path
from bot.store import engine
from bot.store.repository import Store

engine.JOURNAL_MIN_BYTES = 4096  # fold every few commits: kills land inside folds too

async def main(data_dir, base):
    store = Store.open(Path(data_dir))
    async def sender(n):
        for i in range(100_000):
            chat = base + n * 100_000 + i + 1
            await store.deliveries.set([("kill", chat, "pending"), ("kill", -chat, "sent")])
            print(chat, flush=True)
    await asyncio.gather(*(sender(n) for n in range(8)))

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def test_rows_acknowledged_before_a_sigkill_survive_appends_and_folds(data_dir: Path) -> None:
    import os
    import random
    import signal
    import subprocess
    import time

    rng = random.Random(16122011)
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    acknowledged: list[int] = []
    for round_number in range(12):
        process = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(data_dir), str(round_number * 10**6)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=root,
        )
        first = process.stdout.readline() if process.stdout else b""
        time.sleep(rng.uniform(0, 0.3))
        process.send_signal(signal.SIGKILL)
        rest, errors = process.communicate()
        assert process.returncode == -signal.SIGKILL, errors.decode()
        acknowledged += [int(line) for line in (first + rest).split()]
        store = Store.open(data_dir)
        rows = store.deliveries.rows("kill")
        store._close()
        lost = [c for c in acknowledged if rows.get(c) != "pending" or rows.get(-c) != "sent"]
        assert not lost, f"round {round_number}: {len(lost)} acknowledged commits lost"
    assert len(acknowledged) > 100


def written_by_an_older_bot(data_dir: Path, rows: dict[str, dict]) -> None:
    """``deliveries.json`` as a bot before the journal writes it (no epoch), journal untouched."""
    from bot.store.files import marker, table_lines, write_atomic

    tables = {"_store": marker("deliveries"), **rows}
    write_atomic(data_dir / "deliveries.json", table_lines(tables))


async def test_a_journal_is_never_replayed_onto_a_file_it_did_not_follow(data_dir: Path) -> None:
    """An older bot started on the data dir (or a restore cut short) leaves a journal behind
    a file without an epoch; neither it nor its kept copy may ever be replayed later."""
    store = Store.open(data_dir)
    await store.deliveries.set([("o", 1, "sent")])
    store._close()
    written_by_an_older_bot(data_dir, {"o:o": {"1": {"1": 2}}})  # the older bot: 1 failed
    for _ in range(3):
        reopened = Store.open(data_dir)
        assert reopened.deliveries.state("o", 1) == "failed"
        await reopened.deliveries.set([("o", 2, "sent")])
        reopened._close()
