"""Configuration from environment variables, checked once at start.

Deploy scripts and tests rely on these exact variable names. A bad value stops start-up with
one line naming the variable, because a campaigner reading a platform log needs that, not a
traceback.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_DATA_DIR = "./data"


class ConfigError(Exception):
    """A configuration value is unusable; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Config:
    token: str | None
    api_url: str = DEFAULT_API_URL
    data_dir: Path = field(default_factory=lambda: Path(DEFAULT_DATA_DIR))
    admin_ids: frozenset[int] = frozenset()
    webhook_url: str | None = None
    port: int | None = None
    broadcast_rate: float = 30.0
    """Messages per second for fan-out; Telegram's free limit is about 30."""
    paid_broadcast: bool = False
    """Send with allow_paid_broadcast (up to 1000 messages/s, charged in Stars)."""
    heartbeat_url: str | None = None
    """Pinged every few minutes while the bot is healthy (a dead-man's switch)."""
    backup_dir: Path | None = None
    """Where the daily snapshots go; None: ``<data_dir>/backups/daily``."""
    restore_from: str | None = None
    """A snapshot (file or https URL) restored at start into an empty data directory."""

    @property
    def base_url(self) -> str:
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_url}/file/bot"

    @property
    def sandbox(self) -> bool:
        return not self.token

    def __repr__(self) -> str:  # never print the token, even by accident
        return (
            f"Config(token={'<set>' if self.token else None}, api_url={self.api_url!r}, "
            f"data_dir={str(self.data_dir)!r}, admins={len(self.admin_ids)})"
        )


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{name} must be an http(s) URL such as https://api.telegram.org, got {value!r}"
        )
    return value.rstrip("/")


def _check_data_dir(value: str, name: str = "BOT_DATA_DIR") -> Path:
    path = Path(value).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"{name} {str(path)!r} is not a writable directory: {exc.strerror or exc}"
        ) from exc
    return path


def _check_admin_ids(value: str) -> frozenset[int]:
    ids = set()
    for part in value.replace(" ", "").split(","):
        if not part:
            continue
        if not part.lstrip("-").isdecimal():
            raise ConfigError(
                f"BOT_ADMIN_IDS must be comma-separated numeric Telegram user ids, got {part!r}"
            )
        ids.add(int(part))
    return frozenset(ids)


def _check_positive(name: str, value: str, kind: type) -> float | int:
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name} must be positive, got {value!r}")
    return number


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Read and check every variable; raise ConfigError naming the first bad one."""
    env = os.environ if environ is None else environ
    token = env.get("BOT_TOKEN", "").strip() or None
    if token is not None and (":" not in token or any(ch.isspace() for ch in token)):
        raise ConfigError(
            "BOT_TOKEN does not look like a token from @BotFather "
            "(expected digits, a colon, then letters)"
        )
    api_url = _check_url("BOT_API_URL", env.get("BOT_API_URL", "").strip() or DEFAULT_API_URL)
    data_dir = _check_data_dir(env.get("BOT_DATA_DIR", "").strip() or DEFAULT_DATA_DIR)
    admin_ids = _check_admin_ids(env.get("BOT_ADMIN_IDS", ""))
    webhook_url = env.get("BOT_WEBHOOK_URL", "").strip() or None
    if webhook_url:
        webhook_url = _check_url("BOT_WEBHOOK_URL", webhook_url)
        if not webhook_url.startswith("https://"):
            raise ConfigError("BOT_WEBHOOK_URL must be an https:// URL (Telegram requires it)")
    port_value = env.get("PORT", "").strip()
    port = int(_check_positive("PORT", port_value, int)) if port_value else None
    if port is not None and port > 65535:
        raise ConfigError(f"PORT must be at most 65535, got {port_value!r}")
    if env.get("DYNO", "").startswith("web.") and not webhook_url:
        raise ConfigError("BOT_WEBHOOK_URL must be set on a Heroku web dyno (which must answer "
                          "on $PORT); or run the bot as the Procfile's worker")
    if webhook_url and port is None:
        raise ConfigError("PORT must be set when BOT_WEBHOOK_URL is (the port to listen on)")
    rate_value = env.get("BOT_BROADCAST_RATE", "").strip()
    rate = float(_check_positive("BOT_BROADCAST_RATE", rate_value, float)) if rate_value else 30.0
    paid = env.get("BOT_PAID_BROADCAST", "").strip().lower() in ("1", "true", "yes")
    heartbeat_url = env.get("BOT_HEARTBEAT_URL", "").strip() or None
    if heartbeat_url:
        heartbeat_url = _check_url("BOT_HEARTBEAT_URL", heartbeat_url)
    backup_value = env.get("BOT_BACKUP_DIR", "").strip()
    backup_dir = _check_data_dir(backup_value, "BOT_BACKUP_DIR") if backup_value else None
    restore_from = env.get("BOT_RESTORE_FROM", "").strip() or None
    return Config(
        token=token,
        api_url=api_url,
        data_dir=data_dir,
        admin_ids=admin_ids,
        webhook_url=webhook_url,
        port=port,
        broadcast_rate=rate,
        paid_broadcast=paid,
        heartbeat_url=heartbeat_url,
        backup_dir=backup_dir,
        restore_from=restore_from,
    )
