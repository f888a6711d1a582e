"""What /forget leaves, and the daily snapshot taken from memory (issue 22, security review 3
M4 and M5)."""

from __future__ import annotations

from chat import press, say

from bot.ops import backups
from bot.store import snapshots
from bot.store.repository import Store

USER = 4400


async def run_snapshot_job(app) -> None:
    (job,) = app.job_queue.get_jobs_by_name("safekeeping:snapshot")
    await job.run(app)


async def test_the_daily_snapshot_opens_no_second_store(app, emulator, config, monkeypatch):
    await say(emulator, USER, "/subscribe")
    opened = []
    real_open = Store.open
    monkeypatch.setattr(
        snapshots.Store, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k)
    )
    await run_snapshot_job(app)
    ((_when, path),) = backups.snapshots(backups.backup_dir(config))
    assert opened == [], "the running bot's snapshot re-read the data files"
    assert str(USER) in path.read_text(), "the snapshot holds what the store held"


async def test_forget_says_what_the_daily_snapshots_keep_and_the_next_one_drops_it(
    app, emulator, config
):
    await say(emulator, USER, "/subscribe")
    await run_snapshot_job(app)
    question = await say(emulator, USER, "/forget")
    done = await press(emulator, USER, question, "Delete")
    assert f"{backups.KEPT_FOR_DAYS} days" in done.text
    assert "backups" in done.text
    directory = backups.backup_dir(config)
    for _, path in backups.snapshots(directory):
        path.rename(path.with_name("snapshot-20200101-000000.json"))  # a day old and more
    await run_snapshot_job(app)
    newest = backups.newest_snapshot(directory)
    assert newest is not None and str(USER) not in newest[1].read_text()
