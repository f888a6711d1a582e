"""Build the static site: one folder of HTML, CSS and calendar files, from ``content/``.

The folder must work from any static host, a web server or a USB stick, and be safe for
readers who may be watched: relative links only, no scripts, no fonts or images from other
hosts, nothing that calls home. Addresses of other sites (sources, organisers) are shown as
text, never fetched or linked, so the reader decides whether to visit them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files as package_files
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import segno
from jinja2 import Environment, PackageLoader, StrictUndefined
from telegram.helpers import create_deep_linked_url

from bot.config import SiteSettings
from bot.content.cards import GUILLEMETS
from bot.content.library import Library
from bot.content.loading import CONTENT_DIR, load_content
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, N_, Translator, card_fallback, translator
from bot.protests.model import live_events
from bot.reminders.calendar import reminders_calendar
from bot.site.views import card_view, index_view

MARKER = ".zhanaozen-site"
"""Marks a folder this builder made, so a rebuild may replace it and nothing else."""
STYLESHEET = "site.css"
CALENDAR = "calendar.ics"
SITE_NAME = N_("Zhanaozen, 16 December 2011")
OG_LOCALES = {"en": "en_GB", "ru": "ru_RU", "kk": "kk_KZ"}
THIS_CARD_IN = {
    "en": N_("This card in English"),
    "ru": N_("This card in Russian"),
    "kk": N_("This card in Kazakh"),
}


@dataclass(slots=True)
class Built:
    """What a build wrote, relative to the output folder (for the CLI and the tests)."""

    out: Path
    pages: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def card_path(language: str, card_id: str) -> str:
    return f"{language}/cards/{card_id}.html"


def index_path(language: str) -> str:
    return f"{language}/index.html"


class Site:
    """Renders every page of the site for one content snapshot and one configuration."""

    def __init__(self, library: Library, settings: SiteSettings, now: datetime) -> None:
        self.library = library
        self.settings = settings
        self.now = now
        self.today = now.date()
        self._envs = {language: self._environment(translator(language)) for language in LANGUAGES}

    @staticmethod
    def _environment(tr: Translator) -> Environment:
        env = Environment(
            loader=PackageLoader("bot.site", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
        )
        # Added to the Environment at run time by the i18n extension, unseen by type stubs.
        env.install_gettext_callables(  # type: ignore[attr-defined]
            tr.gettext, tr.ngettext, newstyle=True
        )
        return env

    # Addresses ----------------------------------------------------------------------------

    def absolute(self, path: str) -> str | None:
        """The published address of a page, when SITE_URL says where that is."""
        if not self.settings.site_url:
            return None
        return f"{self.settings.site_url}/{path.removesuffix('index.html')}"

    def deep_link(self, card_id: str | None = None) -> str | None:
        """A t.me link that opens the bot (on the card, given one), if the bot is named."""
        if not self.settings.bot_username:
            return None
        if card_id is None:
            return f"https://t.me/{self.settings.bot_username}"
        return create_deep_linked_url(self.settings.bot_username, card_id)

    @staticmethod
    def qr(data: str | None) -> str | None:
        """A QR code as an inline SVG data URI: printed, it needs no network to show."""
        if not data:
            return None
        return segno.make(data, error="m").svg_data_uri(border=2, omitsize=True)

    def _common(self, language: str, path: str, versions: dict[str, str]) -> dict:
        """What every page shows; ``versions`` is the page's path in each language it is
        written in (itself included), for hreflang and the language links."""
        depth = path.count("/")
        root = "../" * depth
        alternates = [
            {
                "code": code,
                "name": LANGUAGE_NAMES[code],
                "href": root + other_path,
                "absolute": self.absolute(other_path),
                "og_locale": OG_LOCALES.get(code, code),
                "this_card_in": translator(language).gettext(THIS_CARD_IN[code]),
            }
            for code, other_path in versions.items()
        ]
        return {
            "lang": language,
            "og_locale": OG_LOCALES.get(language, language),
            "guillemets": language in GUILLEMETS,
            "root": root,
            "path": path,
            "canonical": self.absolute(path),
            "alternates": alternates if len(alternates) > 1 else [],
            "others": [item for item in alternates if item["code"] != language],
            "stylesheet": root + STYLESHEET,
            "index_href": root + index_path(language),
            "bot_link": self.deep_link(),
            "bot_username": self.settings.bot_username,
            "built": translator(language).date(self.today),
            "site_url": self.settings.site_url,
        }

    # Pages --------------------------------------------------------------------------------

    def card_href(self, language: str, target: str, prefix: str) -> str:
        """A link to a card from a page in ``language``: its page in that language, or in
        the fallback language when the card is not written in it (no kk page: the ru one)."""
        card = self.library.cards.get(target)
        if card is None or language in card.languages:
            return f"{prefix}{target}.html"
        up = "../../" if prefix == "" else "../"
        return f"{up}{card_path(card_fallback(language), target)}"

    def card_page(self, language: str, card_id: str) -> str:
        tr = translator(language)
        card = self.library.cards[card_id]
        path = card_path(language, card_id)
        versions = {code: card_path(code, card_id) for code in card.languages}
        context = self._common(language, path, versions)
        address = self.absolute(path)
        telegram = self.deep_link(card_id)
        context.update(
            card=card_view(self.library, tr, card),
            card_href=lambda target: self.card_href(language, target, ""),
            telegram=telegram,
            address=address,
            qr=self.qr(address or telegram),
            qr_is_web=bool(address),
        )
        return self._envs[language].get_template("card.html").render(context)

    def index_page(self, language: str) -> str:
        tr = translator(language)
        path = index_path(language)
        context = self._common(language, path, {code: index_path(code) for code in LANGUAGES})
        address = self.absolute(path)
        context.update(
            index=index_view(self.library, tr, self.today, self.now),
            card_href=lambda target: self.card_href(language, target, "cards/"),
            calendar_href=CALENDAR,
            address=address,
            qr=self.qr(address or self.deep_link()),
            qr_is_web=bool(address),
        )
        return self._envs[language].get_template("index.html").render(context)

    def chooser_page(self) -> str:
        context = self._common("en", "index.html", {})
        context["languages"] = [
            (lang, LANGUAGE_NAMES[lang], index_path(lang), translator(lang).gettext(SITE_NAME))
            for lang in LANGUAGES
        ]
        return self._envs["en"].get_template("chooser.html").render(context)

    def calendar_file(self, language: str) -> bytes:
        protests = sorted(
            live_events(self.library.content_events.values(), self.now),
            key=lambda event: event.starts_at,
        )
        commemorations = [card for card in self.library.anniversaries() if card.commemorated]
        return reminders_calendar(
            translator(language),
            commemorations,
            protests,
            None,
            self.settings.bot_username,
            self.now,
        )

    def sitemap(self, pages: Iterable[str]) -> str:
        urls = "".join(
            f"<url><loc>{xml_escape(self.absolute(page) or '')}</loc></url>\n" for page in pages
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{urls}</urlset>\n"
        )

    def robots(self) -> str:
        text = "User-agent: *\nAllow: /\n"
        if self.settings.site_url:
            text += f"Sitemap: {self.settings.site_url}/sitemap.xml\n"
        return text

    def files(self) -> dict[str, str | bytes]:
        """Every file of the site by its relative path."""
        out: dict[str, str | bytes] = {"index.html": self.chooser_page()}
        for language in LANGUAGES:
            out[index_path(language)] = self.index_page(language)
            for card_id in sorted(self.library.cards):
                if language in self.library.cards[card_id].languages:
                    out[card_path(language, card_id)] = self.card_page(language, card_id)
            out[f"{language}/{CALENDAR}"] = self.calendar_file(language)
        stylesheet = package_files("bot.site").joinpath("static", STYLESHEET)
        out[STYLESHEET] = stylesheet.read_text(encoding="utf-8")
        out["robots.txt"] = self.robots()
        if self.settings.site_url:  # a sitemap must list absolute addresses
            out["sitemap.xml"] = self.sitemap(p for p in out if p.endswith(".html"))
        return out


def build(
    out: Path,
    settings: SiteSettings,
    now: datetime | None = None,
    content_root: Path = CONTENT_DIR,
) -> Built:
    """Write the site into ``out``, replacing an earlier build there (and only that).

    The new site is written beside it first, so a content error or a full disk never leaves
    a half-built folder where a web server serves it.
    """
    now = now or datetime.now(UTC)
    content = load_content(content_root)
    library = Library(
        list(content.cards.values()), list(content.sources.values()), list(content.events.values())
    )
    site = Site(library, settings, now)
    out = out.resolve()
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise FileExistsError(
            f"{out} exists and was not made by this builder; choose an empty or new folder"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    built = Built(out)
    try:
        for relative, data in site.files().items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                target.write_bytes(data)
            else:
                target.write_text(data, encoding="utf-8")
            (built.pages if relative.endswith(".html") else built.files).append(relative)
        (staging / MARKER).write_text("built by python -m bot site build\n", encoding="utf-8")
        for directory in (staging, *(p for p in staging.rglob("*") if p.is_dir())):
            os.chmod(directory, 0o755)  # mkdtemp makes it 0700; a web server must read it
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return built
