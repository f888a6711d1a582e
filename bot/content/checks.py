"""Content checks that keep a card from saying more than its sources: a kind that files someone
shot as a prisoner, a Russian source line in English, a quotation only one language makes, and
(given the source articles) a quotation that is not in the source's words.

Each check returns problems as "file: field …: what is wrong" lines, like the rest of the
content check, so an editor sees all of them at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from bot.content.schema import Card, Content, Text

PERSECUTED_STATUSES = frozenset(
    {
        "jailed",
        "released",
        "awaiting_trial",
        "on_trial",
        "probation",
        "detained",
        "freed_on_bail",
        "died",
    }
)
"""A status that says the person was held, tried or punished (``died`` here: in custody)."""

SHOT_RE = re.compile(
    r"\b(bullet|shot|wounded|gunfire)\b|пул[яиеюей]|ранен|огнестрел", re.IGNORECASE
)
"""Words that say someone was hit by gunfire."""

NAME_WORDS = frozenset({"and", "of", "the", "for", "a", "an", "on", "in"})
"""Lowercase words that belong inside a publication's name ("People and Nature")."""

EN_QUOTE_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”")
RU_QUOTE_RE = re.compile(r"«((?:[^«»]|«[^»]*»)+)»")
QUOTE_MIN_WORDS = 3
"""Shorter quoted text is a name or a term («Алга», "exceeding their powers"), not a
quotation of someone's words."""
SEED_QUOTE_MIN_WORDS = 2
_ELISION_RE = re.compile(r"…|\.\.\.|\[[^\]]*\]")


Fields = list[tuple[str, Text]]
"""A card's text fields, named as the check names them (``loading._card_fields``)."""


def kind_problems(card: Card, fields: Fields, where: str) -> list[str]:
    """A ``prisoner`` card must say the person was jailed, tried or persecuted: one that only
    says a bullet struck someone is a ``wounded`` card (or ``memorial``)."""
    if card.kind != "prisoner":
        return []
    persecuted = bool(card.charges or card.sentence or card.ill_treatment) or bool(
        card.status and card.status.value in PERSECUTED_STATUSES
    )
    shot = any(SHOT_RE.search(text.en) or SHOT_RE.search(text.ru) for _name, text in fields)
    if shot and not persecuted:
        return [
            f"{where}: field kind: 'prisoner', but the card gives no charge, sentence, "
            "custody or ill-treatment, only a shooting: use 'wounded' (fate unknown) or "
            "'memorial'"
        ]
    return []


def label_problems(card: Card, where: str) -> list[str]:
    """A day people are not reminded of is not mourned either."""
    if card.kind == "anniversary" and card.mourning and not card.commemorated:
        return [
            f"{where}: field mourning: a day of mourning is commemorated; set "
            "'commemorated: true' or drop 'mourning'"
        ]
    return []


def source_language_problems(content: Content) -> list[str]:
    """A source line that describes (not only names) needs its Russian form, or every Russian
    card ends in English prose ("reposted by", "blog", "Socialist press")."""
    problems = []
    for source in content.sources.values():
        where = content.files.get(source.id, source.id)
        for field_name, english, russian in (
            ("publication", source.publication, source.publication_ru),
            ("author", source.author, source.author_ru),
        ):
            if english and not russian and _describes(english):
                problems.append(
                    f"{where}: field {field_name}_ru: {english!r} describes the "
                    "source in English; give its Russian form"
                )
    return problems


def _describes(line: str) -> bool:
    """More than names: a lowercase English word that is not a domain or a name's "and"."""
    words = re.findall(r"[A-Za-z][\w'.-]*", line)
    return any(w[0].islower() and "." not in w and w.casefold() not in NAME_WORDS for w in words)


def quote_problems(fields: Fields, where: str, glossary_ru: Iterable[str]) -> list[str]:
    """A quotation in Russian must be a quotation in English too: quotation marks around
    words the English (and so the source) does not quote put words in someone's mouth."""
    names = {name.strip("«»").casefold() for name in glossary_ru}
    problems = []
    for field_name, text in fields:
        en = [q for q in _quoted(EN_QUOTE_RE, text.en) if len(q.split()) >= QUOTE_MIN_WORDS]
        ru = [
            q
            for q in _quoted(RU_QUOTE_RE, text.ru)
            if len(q.split()) >= QUOTE_MIN_WORDS and q.casefold() not in names
        ]
        if len(ru) > len(en):
            problems.append(
                f"{where}: field {field_name}.ru: quotes {ru[-1]!r}, which the "
                "English does not quote: put a source's words in quotation marks "
                "in both languages, or in neither"
            )
    return problems


def seed_quote_problems(content: Content, seeds: Path) -> list[str]:
    """Given the source articles (``seed_file`` of each source, in ``seeds``), every English
    quotation must be in the words of one of the sources its fact cites."""
    texts: dict[str, str] = {}
    for path in seeds.glob("*.txt"):
        texts[path.name] = _plain(path.read_text(encoding="utf-8"))
    problems = []
    for card in content.cards.values():
        where = content.files.get(card.id, card.id)
        for fact in card.facts():
            cited = [
                texts.get(content.sources[s].seed_file or "", "")
                for s in fact.sources
                if s in content.sources
            ]
            if not any(cited):
                continue  # no copy of these sources here: nothing to compare with
            for quote in _quoted(EN_QUOTE_RE, fact.en):
                if len(quote.split()) < SEED_QUOTE_MIN_WORDS:
                    continue
                parts = [_plain(part) for part in _ELISION_RE.split(quote) if _plain(part)]
                if not all(any(part in text for text in cited) for part in parts):
                    problems.append(
                        f"{where}: quotes {quote!r}, which is not in the words of "
                        f"its sources ({', '.join(fact.sources)})"
                    )
    return problems


def _plain(text: str) -> str:
    """Text compared word for word: case, punctuation and curly apostrophes set aside."""
    return re.sub(r"[^\w]+", " ", text.replace("’", "'").casefold()).strip()


def _quoted(pattern: re.Pattern[str], text: str) -> list[str]:
    return [next(group for group in match.groups() if group) for match in pattern.finditer(text)]
