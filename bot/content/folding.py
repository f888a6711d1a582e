"""Words as search compares them: any script folded to Latin, spelling variants folded, and
each word's stem in every configured language.

Readers type names in Latin, Russian or Kazakh Cyrillic, with or without "y" before vowels,
and in any Russian case («Розы Тулетаевой»). ``anyascii`` renders every script in Latin,
a few folds make the usual transliteration variants equal (kh/h, zh/j, doubled letters), and
the Snowball stemmer (PyStemmer) of each language in ``bot.i18n.LANGUAGES`` strips case
endings. A word then matches when any of its keys (its skeleton, or its stem's) equals one of
the other's.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import Stemmer  # type: ignore[import-not-found]  # PyStemmer: Snowball, compiled
from anyascii import anyascii

from bot.i18n import LANGUAGES

SNOWBALL_NAMES = {"en": "english", "ru": "russian"}
"""Snowball's algorithm for a language code when it is not the language's English name
(Snowball has none for Kazakh: its words are matched by skeleton, prefix and typo only)."""

# Transliteration variants of one sound, applied to anyascii's Latin (order matters: digraphs
# first). Kazakh "ң" comes out as "ng", the sources' spellings as "n" (Жаңаөзен, Zhanaozen).
_FOLDS = (
    ("kh", "h"),
    ("zh", "j"),
    ("dj", "j"),
    ("dzh", "j"),
    ("shch", "s"),
    ("sh", "s"),
    ("ch", "c"),
    ("ts", "c"),
    ("ng", "n"),
    ("yu", "u"),
    ("ya", "a"),
    ("ye", "e"),
    ("yo", "o"),
    ("iy", "i"),
    ("y", "i"),
    ("w", "v"),
    ("q", "k"),
    ("x", "ks"),
)
_WORD_RE = re.compile(r"[^\W_]+")
_DOUBLE_RE = re.compile(r"(.)\1+")
_NOT_ALNUM_RE = re.compile(r"[^a-z0-9]+")


def words(text: str) -> list[str]:
    """The words of a text, lower-cased (apostrophes and hyphens split words)."""
    return _WORD_RE.findall(text.casefold().replace("ё", "е"))


@lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """A word in Latin with spelling variants folded: Жаңаөзен, Janaozen → "janaozen"."""
    latin = anyascii(unicodedata.normalize("NFC", word)).lower()
    latin = _NOT_ALNUM_RE.sub("", latin)
    for old, new in _FOLDS:
        latin = latin.replace(old, new)
    return _DOUBLE_RE.sub(r"\1", latin)


@cache
def _stemmers() -> tuple[Stemmer.Stemmer, ...]:
    """Without PyStemmer's own cache (``keys`` is cached): 10,000 words a stemmer, some 3 MB
    kept for nothing, and a stemmer without it is never in a half-done state between threads
    (it keeps the GIL from start to end)."""
    available = set(Stemmer.algorithms())
    names = (SNOWBALL_NAMES.get(code, code) for code in LANGUAGES)
    return tuple(Stemmer.Stemmer(name, 0) for name in names if name in available)


@lru_cache(maxsize=65536)
def keys(word: str) -> frozenset[str]:
    """Every form a word is matched by: its skeleton, and its stem's in each language."""
    found = {skeleton(word)}
    for stemmer in _stemmers():
        stem = stemmer.stemWord(word)
        if stem != word and len(stem) >= 3:
            found.add(skeleton(stem))
    found.discard("")
    return frozenset(found)


def normalise(text: str) -> str:
    """A whole name as one comparable string (the content check uses it to catch two cards
    sharing a name or alias)."""
    return " ".join(filter(None, (skeleton(word) for word in words(text))))
