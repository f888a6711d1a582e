"""Keeping the subscribers across restarts and redeploys, or at least never losing them quietly.

- At start, on a platform known to wipe its disk (a Heroku dyno; Render, Railway or Fly.io
  without a volume at ``BOT_DATA_DIR``), say so in the log and in ``/stats``.
- If the data directory holds no data yet and ``BOT_RESTORE_FROM`` names a snapshot (a file,
  or an https URL such as an object store's signed link), restore it before serving.
- Once a day, a snapshot into ``BOT_BACKUP_DIR`` (default ``<data dir>/backups/daily``),
  keeping the last one of each of the 7 most recent days and of the 4 most recent weeks.

Snapshots are written by ``bot.store.snapshots``; this module only decides when, and what to keep.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bot.store.files import write_atomic
from bot.store.snapshots import backup, restore, snapshot_from_tables

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.config import Config
    from bot.context import BotContext
    from bot.i18n import Translator

log = logging.getLogger(__name__)

DATA_FILES = ("chats.json", "deliveries.json", "events.json")
SNAPSHOT_NAME = re.compile(r"^snapshot-(\d{8}-\d{6})")
KEEP_DAILY = 7
KEEP_WEEKLY = 4
SNAPSHOT_EVERY = timedelta(days=1)
CHECK_EVERY = timedelta(hours=1)
"""The job looks hourly whether the newest snapshot is a day old, so a bot restarted more
often than daily (as a Heroku dyno is) still takes one a day."""
FIRST_CHECK = timedelta(minutes=10)
"""Not during start-up, which has its own work (the catch-up sweep, planning)."""


# The disk ------------------------------------------------------------------------------------


def mount_points(mountinfo: Path = Path("/proc/self/mountinfo")) -> list[str]:
    """Where filesystems are mounted (Linux); empty if that cannot be read."""
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError:
        return []
    return [line.split()[4].replace("\\040", " ") for line in lines if len(line.split()) > 4]


def on_volume(data_dir: Path, mounts: Iterable[str]) -> bool:
    """Whether ``data_dir`` lies on a filesystem mounted below ``/`` (a volume or a disk)."""
    path = Path(data_dir).resolve()
    return any(mount != "/" and path.is_relative_to(mount) for mount in mounts)


def ephemeral_platform(
    data_dir: Path, environ: Mapping[str, str] | None = None, mounts: Iterable[str] | None = None
) -> str | None:
    """The platform's name if it will wipe ``data_dir`` at the next restart or deploy."""
    env = os.environ if environ is None else environ
    if env.get("DYNO"):
        return "Heroku"  # a dyno's disk is always temporary: Heroku has no volumes
    platform = (
        "Render"
        if env.get("RENDER")
        else "Railway"
        if env.get("RAILWAY_ENVIRONMENT") or env.get("RAILWAY_PROJECT_ID")
        else "Fly.io"
        if env.get("FLY_APP_NAME")
        else None
    )
    if platform is None:
        return None
    mounts = list(mount_points() if mounts is None else mounts)
    volume = env.get("RAILWAY_VOLUME_MOUNT_PATH")
    if volume:
        mounts.append(volume)
    return None if on_volume(data_dir, mounts) else platform


def disk_warning(platform: str, data_dir: Path) -> str:
    """The log line (English, as every log line)."""
    return (
        f"BOT_DATA_DIR {str(data_dir)!r} is on {platform}'s temporary disk: every "
        f"subscriber is lost at the next restart or deploy. Mount a persistent volume "
        f"there, or set BOT_RESTORE_FROM (docs/operators.md, 'Backups and restoring')"
    )


def warn_if_ephemeral(data_dir: Path) -> str | None:
    platform = ephemeral_platform(data_dir)
    if platform:
        log.warning(disk_warning(platform, data_dir))
    return platform


def stats_lines(tr: Translator, config: Config) -> list[str]:
    """For /stats: the disk warning and the newest daily snapshot, in the admin's language."""
    lines = []
    platform = ephemeral_platform(config.data_dir)
    if platform:
        lines.append(
            "⚠️ "
            + tr.gettext(
                "The data is on %(platform)s's temporary disk: subscribers are lost at the next "
                "restart. Mount a volume at BOT_DATA_DIR."
            )
            % {"platform": platform}
        )
    newest = newest_snapshot(backup_dir(config))
    if newest is None:
        lines.append(tr.gettext("Daily snapshot: none yet"))
    else:
        lines.append(
            tr.gettext("Daily snapshot: %(when)s UTC")
            % {"when": newest[0].strftime("%Y-%m-%d %H:%M")}
        )
    return lines


# Restoring at start ----------------------------------------------------------------------------


class RestoreError(Exception):
    """BOT_RESTORE_FROM was set for an empty data directory and could not be restored."""


def has_data(data_dir: Path) -> bool:
    return any((Path(data_dir) / name).exists() for name in DATA_FILES)


def restore_if_empty(config: Config) -> bool:
    """Restore ``BOT_RESTORE_FROM`` into an empty data directory; True if it did.

    Raises RestoreError rather than let the bot start empty when a snapshot was meant to
    bring its subscribers back.
    """
    source = config.restore_from
    if source is None:
        return False
    if has_data(config.data_dir):
        log.info("BOT_RESTORE_FROM is set but the data directory has data: left as it is")
        return False
    with tempfile.TemporaryDirectory() as scratch:
        if source.startswith("http://"):
            raise RestoreError(
                "BOT_RESTORE_FROM must be an https:// link: a snapshot fetched "
                "over plain http could have been changed on the way"
            )
        snapshot = Path(source).expanduser()
        if source.startswith("https://"):
            snapshot = Path(scratch) / "snapshot.json"
            download(source, snapshot)
        elif not snapshot.is_file():
            raise RestoreError(f"BOT_RESTORE_FROM {source!r} is not a file")
        try:
            restore(config.data_dir, snapshot)
        except Exception as exc:
            raise RestoreError(str(exc)) from None
    log.info("restored the snapshot named by BOT_RESTORE_FROM into the empty data directory")
    return True


# Daily snapshots -----------------------------------------------------------------------------


def backup_dir(config: Config) -> Path:
    return config.backup_dir or Path(config.data_dir) / "backups" / "daily"


def snapshots(directory: Path) -> list[tuple[datetime, Path]]:
    """The snapshots in ``directory`` with the time in their name, newest first."""
    found = []
    try:
        entries = list(Path(directory).iterdir())
    except FileNotFoundError:
        return []
    for path in entries:
        match = SNAPSHOT_NAME.match(path.name)
        if match and path.is_file():
            when = datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
            found.append((when, path))
    return sorted(found, reverse=True)


def newest_snapshot(directory: Path) -> tuple[datetime, Path] | None:
    found = snapshots(directory)
    return found[0] if found else None


def to_keep(
    times: Iterable[datetime], daily: int = KEEP_DAILY, weekly: int = KEEP_WEEKLY
) -> set[datetime]:
    """The newest snapshot of each of the ``daily`` most recent days that have one, and of
    each of the ``weekly`` most recent ISO weeks."""
    newest_first = sorted(times, reverse=True)
    keep: set[datetime] = set()
    for period, count in ((lambda t: t.date(), daily), (lambda t: t.isocalendar()[:2], weekly)):
        seen: list = []
        for when in newest_first:
            key = period(when)
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.append(key)
            keep.add(when)
    return keep


def prune(directory: Path) -> list[Path]:
    """Delete the snapshots retention does not keep; returns them."""
    found = snapshots(directory)
    keep = to_keep(when for when, _ in found)
    removed = []
    for when, path in found:
        if when not in keep:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


KEPT_FOR_DAYS = 7 * KEEP_WEEKLY
"""The longest a daily snapshot is kept (the oldest of the ``KEEP_WEEKLY`` weekly ones):
what /forget tells a reader about the chat's copies in the automatic snapshots."""


MAX_DOWNLOAD = 512 * 1024 * 1024
"""Bytes of a snapshot fetched from BOT_RESTORE_FROM, at most (100,000 chats are ~20 MB)."""


def _https_only(request: httpx.Request) -> None:
    if request.url.scheme != "https":
        raise RestoreError("BOT_RESTORE_FROM redirected to a link that is not https://")


def download(url: str, target: Path) -> None:
    """Fetch a snapshot over https only (redirects too), at most ``MAX_DOWNLOAD`` bytes."""
    try:
        with (
            httpx.Client(
                timeout=60, follow_redirects=True, event_hooks={"request": [_https_only]}
            ) as client,
            client.stream("GET", url) as response,
        ):
            response.raise_for_status()
            size = 0
            with target.open("wb") as out:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_DOWNLOAD:
                        raise RestoreError("BOT_RESTORE_FROM is larger than any snapshot")
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise RestoreError(
            f"could not download BOT_RESTORE_FROM ({exc.__class__.__name__})"
        ) from None


def snapshot_due(config: Config, now: datetime | None = None) -> bool:
    """Whether the newest automatic snapshot is a day old, or there is none."""
    now = now or datetime.now(UTC)
    newest = newest_snapshot(backup_dir(config))
    return newest is None or now - newest[0] >= SNAPSHOT_EVERY - timedelta(minutes=5)


def snapshot_if_due(
    config: Config, now: datetime | None = None, tables: dict[str, dict[str, dict]] | None = None
) -> Path | None:
    """A snapshot if the newest is a day old (or there is none), then prune; blocking I/O.

    ``tables`` (``Store.snapshot_tables()``, taken on the event loop) is what the running
    bot passes: the snapshot is encoded from its copy-on-write tables, with no second store
    opened. Without them (the command line) the files are read.
    """
    now = now or datetime.now(UTC)
    if not snapshot_due(config, now):
        return None
    directory = backup_dir(config)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if tables is None:
        path = backup(config.data_dir, directory)
    else:
        path = directory / f"snapshot-{now:%Y%m%d-%H%M%S}.json"
        write_atomic(path, snapshot_from_tables(tables))
    removed = prune(directory)
    log.info("daily snapshot written; %d old snapshots removed", len(removed))
    return path


def install(application: Application) -> None:
    """The hourly check for the daily snapshot (the first one ten minutes after start)."""
    assert application.job_queue is not None  # python-telegram-bot[job-queue] is a dependency
    application.job_queue.run_repeating(
        _snapshot_job, interval=CHECK_EVERY, first=FIRST_CHECK, name="safekeeping:snapshot"
    )


async def _snapshot_job(context: BotContext) -> None:
    config, store = context.config, context.store
    try:
        if not await asyncio.to_thread(snapshot_due, config):
            return
        tables = store.snapshot_tables()  # consistent, and cheap on the event loop
        await asyncio.to_thread(snapshot_if_due, config, tables=tables)
    except Exception as exc:
        log.error("the daily snapshot failed: %s", exc.__class__.__name__, exc_info=exc)
        from bot.ops import alerts

        await alerts.report_error(context.application, exc, "snapshot")
