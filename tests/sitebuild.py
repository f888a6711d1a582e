"""Building the static site for tests: a fixed clock, a named bot and a published address."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from conftest import BOT_USERNAME

from bot.config import SiteSettings
from bot.site.build import Built, build

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SITE_URL = "https://solidarity.example.org/zhanaozen"
PUBLISHED = SiteSettings(bot_username=BOT_USERNAME, site_url=SITE_URL)
"""As deployed: deep links to the bot and canonical addresses."""
BARE = SiteSettings()
"""As built on a laptop for a USB stick: no bot name, no address."""


def build_site(out: Path, settings: SiteSettings = PUBLISHED) -> Built:
    return build(out, settings, now=NOW)
