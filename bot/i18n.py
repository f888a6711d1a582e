"""Languages: gettext catalogues, the user's language, and Babel formatting.

Catalogues are compiled from the ``.po`` files in memory at start, so a fresh checkout never
runs with a missing or stale ``.mo`` (which would silently fall back to English).
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "bot"
LANGUAGES = ("en", "ru", "kk")
"""The bot's languages, in the order /language offers them; each has a catalogue in locales/
(English is the source strings) and may have card text (``kk:`` beside ``en:``/``ru:``)."""
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
"""Each language in its own words, for the buttons that choose it."""
DEFAULT_LANGUAGE = "en"
RUSSIAN_READERS = frozenset({"ru", "uk", "be", "ky", "tg", "uz", "az", "hy", "ka"})
"""Telegram language codes whose speakers are served best in Russian (post-Soviet region)."""
CARD_FALLBACK = {"kk": "ru"}
"""Where a card has no text in a language, the language it is shown in instead: Kazakh
readers all read Russian, and most cards are written in English and Russian only."""


def N_(message: str) -> str:
    return message


@cache
def translations(language: str) -> gettext.NullTranslations:
    """Compiled catalogue for a language; English falls back to the source strings."""
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT_LANGUAGE or not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def pick_language(chosen: str | None, telegram_code: str | None) -> str:
    """The chat's saved choice wins; otherwise the Telegram app's language decides."""
    if chosen in LANGUAGES:
        return chosen
    code = (telegram_code or "").split("-")[0].lower()
    if code in LANGUAGES:
        return code
    return "ru" if code in RUSSIAN_READERS else DEFAULT_LANGUAGE


class Translator:
    """Everything a handler needs to speak one language."""

    __slots__ = ("_catalogue", "language", "locale")

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._catalogue = translations(self.language)
        self.locale = Locale.parse(self.language)

    def gettext(self, message: str) -> str:
        return self._catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self._catalogue.ngettext(singular, plural, count)

    def date(self, value: date, fmt: str = "long") -> str:
        return format_date(value, format=fmt, locale=self.locale)

    def datetime(self, value: datetime, fmt: str = "long") -> str:
        # Babel's "long" datetime adds seconds and zone names; campaigners want date and time.
        if fmt == "long":
            return f"{self.date(value.date())}, {format_time(value, 'HH:mm', locale=self.locale)}"
        return format_datetime(value, format=fmt, locale=self.locale)

    def partial_date(self, value: str) -> str:
        """Render YYYY, YYYY-MM or YYYY-MM-DD at the precision the source gave."""
        parts = [int(part) for part in value.split("-")]
        if len(parts) == 3:
            return self.date(date(*parts))
        if len(parts) == 2:
            # CLDR's month-and-year skeleton: "July 2012", «июль 2012 г.» (the stand-alone
            # month name, not the genitive «июля», and the «г.» a full date has too).
            return format_skeleton("yMMMM", date(parts[0], parts[1], 1), locale=self.locale)
        return str(parts[0])

    def days_until(self, days: int) -> str:
        if days == 0:
            return self.gettext("today")
        if days > 0:
            return self.ngettext("in %(num)d day", "in %(num)d days", days) % {"num": days}
        return self.ngettext("%(num)d day ago", "%(num)d days ago", -days) % {"num": -days}

    def years_ago(self, years: int) -> str:
        return self.ngettext("%(num)d year ago", "%(num)d years ago", years) % {"num": years}


def card_fallback(language: str) -> str:
    """The language a card without text in ``language`` is shown in."""
    return CARD_FALLBACK.get(language, DEFAULT_LANGUAGE)


@cache
def translator(language: str) -> Translator:
    return Translator(language)


def untranslated(language: str) -> list[str]:
    """The catalogue's entries a translator still has to do: empty or fuzzy."""
    with (LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    todo = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and (message.fuzzy or not all(strings)):
            todo.append(str(message.id[0] if isinstance(message.id, tuple | list) else message.id))
    return todo


if __name__ == "__main__":  # make untranslated
    for code in LANGUAGES[1:]:
        for msgid in untranslated(code):
            print(f"{code}: {msgid}")
