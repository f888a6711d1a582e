"""Tolerant name matching across scripts and transliterations.

The sources spell the same people several ways (Dosmagambetov / Dosmagamebetov, Tanatar /
Tanatir), and readers type in Latin or Cyrillic, with or without "y" before vowels. Every name
is reduced to a skeleton that survives those differences, then compared.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

_CYRILLIC = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sh",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
    # Kazakh letters, so names typed in Kazakh Cyrillic still match.
    "ә": "a",
    "ғ": "g",
    "қ": "k",
    "ң": "n",
    "ө": "o",
    "ұ": "u",
    "ү": "u",
    "һ": "h",
    "і": "i",
}

# Order matters: digraphs first, then single letters that transliterations use interchangeably.
_FOLDS = (
    ("kh", "h"),
    ("zh", "j"),
    ("dj", "j"),
    ("sh", "s"),
    ("ch", "c"),
    ("ts", "c"),
    ("yu", "u"),
    ("ya", "a"),
    ("ye", "e"),
    ("yo", "o"),
    ("iy", "i"),
    ("ii", "i"),
    ("y", "i"),
    ("w", "v"),
    ("q", "k"),
    ("x", "ks"),
)

MIN_QUERY = 2
"""Shorter queries match nearly everything and help nobody."""


@lru_cache(maxsize=8192)
def transliterate(text: str) -> str:
    """Lower-case Latin rendering of any Latin or Cyrillic text, accents stripped."""
    lowered = text.casefold()
    out = []
    for char in lowered:
        out.append(_CYRILLIC.get(char, char))
    decomposed = unicodedata.normalize("NFKD", "".join(out))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=8192)
def normalise(text: str) -> str:
    """Skeleton of a name: transliterated, folded, doubled letters and punctuation removed.

    Cached: every query is compared with every card's names, and those never change.
    """
    latin = transliterate(text)
    latin = re.sub(r"[^a-z0-9]+", " ", latin)
    for old, new in _FOLDS:
        latin = latin.replace(old, new)
    latin = re.sub(r"(.)\1+", r"\1", latin)
    return " ".join(latin.split())


@dataclass(frozen=True, slots=True)
class Match:
    key: str
    score: float


def rank(query: str, candidates: Mapping[str, Iterable[str]], limit: int = 10) -> list[Match]:
    """Rank candidate keys by how well any of their names matches the query.

    An exact skeleton match scores 1, a word-prefix match 0.9, a substring 0.8; otherwise a
    fuzzy similarity counts if it is close enough to be a misspelling.
    """
    wanted = normalise(query)
    letters = len(re.sub(r"[^a-z0-9]", "", transliterate(query)))
    if letters < MIN_QUERY or len(wanted.replace(" ", "")) < MIN_QUERY:
        return []
    scores: dict[str, float] = {}
    for key, names in candidates.items():
        best = 0.0
        for name in names:
            best = max(best, _score(wanted, normalise(name)))
        if best > 0:
            scores[key] = best
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [Match(key, score) for key, score in ranked[:limit]]


FUZZY_CUTOFF = 0.75


def _score(wanted: str, name: str) -> float:
    if not name:
        return 0.0
    if wanted == name:
        return 1.0
    words = name.split()
    if any(word.startswith(wanted) for word in words) or name.startswith(wanted):
        return 0.9
    if wanted in name:
        return 0.8
    best = 0.0
    for candidate in (name, *words):
        best = max(best, _similarity(wanted, candidate, max(best, FUZZY_CUTOFF)))
    return best * 0.75 if best >= FUZZY_CUTOFF else 0.0


def _similarity(wanted: str, candidate: str, needed: float) -> float:
    """difflib's ratio(wanted, candidate), or 0 when it cannot reach ``needed``.

    The two cheap upper bounds difflib offers settle most pairs; only the rest pay for the
    full comparison, so the result is what the full comparison of every pair would give.
    """
    total = len(wanted) + len(candidate)
    if not total or 2.0 * min(len(wanted), len(candidate)) / total < needed:
        return 0.0
    matcher = _matcher(candidate)
    matcher.set_seq1(wanted)
    if matcher.quick_ratio() < needed:
        return 0.0
    return matcher.ratio()


@lru_cache(maxsize=4096)
def _matcher(candidate: str) -> difflib.SequenceMatcher:
    """A matcher with ``candidate`` as its second sequence, indexed once (single-threaded
    use: every caller sets the first sequence before reading a ratio)."""
    return difflib.SequenceMatcher(None, "", candidate)
