"""Configuration from environment variables, checked once at start.

Deploy scripts and tests rely on these exact variable names. A bad value stops start-up with
one line naming the variable, because a campaigner reading a platform log needs that, not a
traceback.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_DATA_DIR = "./data"
MAX_BROADCAST_RATE = 1000.0
"""Telegram's limit for paid broadcasts, messages per second."""
BOT_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
"""Telegram's rule for usernames: 5-32 letters, digits and underscores, a letter first."""


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
    """Messages per second for fan-out (reminders, broadcasts), within the send budget; with
    paid broadcasts up to 1,000."""
    send_rate: float = 30.0
    """The send budget: messages per second for everything the bot sends (Telegram's free
    limit, 30). Answers to people come first; the fan-out takes what they leave."""
    paid_broadcast: bool = False
    """Send with allow_paid_broadcast (up to 1000 messages/s, charged in Stars)."""
    webhook_secret: str | None = None
    """The header Telegram sends with each webhook call (BOT_WEBHOOK_SECRET); unset, one is
    derived from the token, independently of the URL path."""
    backup_recipient: str | None = None
    """An age public key (BOT_BACKUP_AGE_RECIPIENT): /backup over Telegram sends only
    snapshots encrypted to it, and none without it."""
    heartbeat_url: str | None = None
    """Pinged every few minutes while the bot is healthy (a dead-man's switch)."""
    backup_dir: Path | None = None
    """Where the daily snapshots go; None: ``<data_dir>/backups/daily``."""
    restore_from: str | None = None
    """A snapshot (file or https URL) restored at start into an empty data directory."""
    content_dir: Path | None = None
    """Where the cards are read from; None: the ``content/`` shipped with the bot (tests
    give their own, e.g. a card with an update)."""

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
        raise ConfigError(
            "BOT_WEBHOOK_URL must be set on a Heroku web dyno (which must answer "
            "on $PORT); or run the bot as the Procfile's worker"
        )
    if webhook_url and port is None:
        raise ConfigError("PORT must be set when BOT_WEBHOOK_URL is (the port to listen on)")
    rate_value = env.get("BOT_BROADCAST_RATE", "").strip()
    rate = float(_check_positive("BOT_BROADCAST_RATE", rate_value, float)) if rate_value else 30.0
    if rate > MAX_BROADCAST_RATE:
        raise ConfigError(
            f"BOT_BROADCAST_RATE must be at most {MAX_BROADCAST_RATE:.0f} "
            f"(Telegram's paid broadcast limit), got {rate_value!r}"
        )
    send_value = env.get("BOT_SEND_RATE", "").strip()
    send_rate = float(_check_positive("BOT_SEND_RATE", send_value, float)) if send_value else 30.0
    paid = env.get("BOT_PAID_BROADCAST", "").strip().lower() in ("1", "true", "yes")
    webhook_secret = env.get("BOT_WEBHOOK_SECRET", "").strip() or None
    if webhook_secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", webhook_secret):
        raise ConfigError(
            "BOT_WEBHOOK_SECRET must be 16 to 256 letters, digits, '_' or '-' "
            "(Telegram's rule for secret_token)"
        )
    recipient = env.get("BOT_BACKUP_AGE_RECIPIENT", "").strip() or None
    if recipient is not None and not re.fullmatch(r"age1[02-9ac-hj-np-z]{58}", recipient):
        raise ConfigError(
            "BOT_BACKUP_AGE_RECIPIENT must be an age public key (age1…), as printed by age-keygen"
        )
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
        send_rate=send_rate,
        paid_broadcast=paid,
        webhook_secret=webhook_secret,
        backup_recipient=recipient,
        heartbeat_url=heartbeat_url,
        backup_dir=backup_dir,
        restore_from=restore_from,
    )


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """What the static site needs to link back: the bot (deep links) and its own address."""

    bot_username: str | None = None
    site_url: str | None = None
    """Where the site is published, for canonical URLs, the sitemap and QR codes."""


def load_site_settings(environ: Mapping[str, str] | None = None) -> SiteSettings:
    """BOT_USERNAME and SITE_URL, checked; the site builds without either."""
    env = os.environ if environ is None else environ
    username = env.get("BOT_USERNAME", "").strip().removeprefix("@") or None
    if username is not None and not BOT_USERNAME_RE.fullmatch(username):
        raise ConfigError(
            f"BOT_USERNAME must be the bot's Telegram username such as zhanaozen_bot, "
            f"got {username!r}"
        )
    site_url = env.get("SITE_URL", "").strip() or None
    if site_url is not None:
        site_url = _check_url("SITE_URL", site_url)
    return SiteSettings(bot_username=username, site_url=site_url)
