"""Dates as people type them: "4 June", "June 4th", "4th of June", «16 декабря 2011 года»,
"Dec 16", "16.12", "16/12/2011", "2011-12-16", or a month alone ("June 2012", «декабрь»).

Month names come from Babel's locale data for every language in ``bot.i18n.LANGUAGES``, in
every form it has (format and stand-alone, wide and abbreviated: «декабрь», «декабря»,
«дек.»), so a language added to the bot brings its month names with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from babel.dates import get_month_names

from bot.content.folding import keys, words
from bot.i18n import LANGUAGES

MIN_PREFIX = 3
""""Sept", "дек", "Febr": a month typed short, if no other month starts the same way."""
FIRST_YEAR, LAST_YEAR = 1900, 2100
_NUMERIC_RE = re.compile(r"^\s*(\d{1,4})[./\-\s](\d{1,2})(?:[./\-\s](\d{2,4}))?\s*[.!?]*\s*$")
_ORDINAL_RE = re.compile(r"^(\d{1,4})(?:st|nd|rd|th|е|го|ое|ого|ья|я)?$")


@dataclass(frozen=True, slots=True)
class DateQuery:
    """A day ("4 June"), a month ("June 2012") or either narrowed to a year."""

    month: int
    day: int | None = None
    year: int | None = None


@cache
def month_names(
    languages: tuple[str, ...] = LANGUAGES,
) -> tuple[dict[str, int], dict[str, set[int]]]:
    """Every month name form → month, and every full name → its months (for prefixes)."""
    forms: dict[str, int] = {}
    full: dict[str, set[int]] = {}
    for language in languages:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for month, name in get_month_names(width, context, locale=language).items():
                    for word in words(name):
                        forms[word] = month
                        if width == "wide":
                            full.setdefault(word, set()).add(month)
                            for key in keys(word):
                                forms.setdefault(key, month)
    return forms, full


def month_of(word: str, languages: tuple[str, ...] = LANGUAGES) -> int | None:
    """The month a word names ("june", «июня», «декабре», "sept"), or None."""
    forms, full = month_names(languages)
    if word in forms:
        return forms[word]
    for key in keys(word):
        if key in forms and not key.isdigit():
            return forms[key]
    if len(word) >= MIN_PREFIX and not word.isdigit():
        months = {m for name, found in full.items() if name.startswith(word) for m in found}
        if len(months) == 1:
            return months.pop()
    return None


def parse_date(
    text: str, ignored: frozenset[str], languages: tuple[str, ...] = LANGUAGES
) -> DateQuery | None:
    """The date a query names, or None when it names something else too.

    ``ignored`` are the words that carry nothing ("on", "the", «года»): "what happened on
    16 December?" is still a date.
    """
    numeric = _NUMERIC_RE.match(text)
    if numeric:
        return _numeric(*numeric.groups())
    month = day = year = None
    for word in words(text):
        ordinal = _ORDINAL_RE.match(word)
        if ordinal:
            number = int(ordinal.group(1))
            if FIRST_YEAR <= number <= LAST_YEAR and year is None:
                year = number
            elif 1 <= number <= 31 and day is None:
                day = number
            else:
                return None
            continue
        if word in ignored:
            continue
        found = month_of(word, languages)
        if found is None or month is not None:
            return None
        month = found
    if month is None or not _valid(month, day or 1):
        return None
    return DateQuery(month, day, year)


def _numeric(first: str, second: str, third: str | None) -> DateQuery | None:
    if len(first) == 4:  # 2011-12-16
        if third is None:
            return None
        year, month, day = int(first), int(second), int(third)
    else:
        day, month = int(first), int(second)
        if day <= 12 < month:  # 12/16/2011, as Americans write it
            day, month = month, day
        year = None
        if third is not None:
            year = int(third) + (2000 if len(third) == 2 else 0)
    if not _valid(month, day) or (year is not None and not FIRST_YEAR <= year <= LAST_YEAR):
        return None
    return DateQuery(month, day, year)


def _valid(month: int, day: int) -> bool:
    try:
        date(2000, month, day)  # a leap year: 29 February is a valid anniversary
    except ValueError:
        return False
    return True
