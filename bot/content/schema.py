"""Card content: the schema editors write against, and loading it from ``content/``.

Content is data. Every card lives in its own YAML file so a correction is a one-file diff,
and every fact carries the ids of the sources it rests on, so a reader can check it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from bot.content.search import normalise
from bot.i18n import LANGUAGES

CONTENT_DIR = Path(__file__).resolve().parents[2] / "content"

SLUG_RE = r"^[a-z0-9][a-z0-9-]{1,46}[a-z0-9]$"
"""Slugs double as deep-link payloads, so they stay inside Telegram's payload alphabet."""

PARTIAL_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

# Private contact details must never reach a card; institutional addresses are allowed only
# inside an "actions" entry, which says when and where they were published.
PHONE_RE = re.compile(r"(?<![\w/])\+?\d[\d\s().-]{8,}\d")
PHONE_MIN_DIGITS = 10
"""Fewer digits than this is a date or a range of years, not a phone number."""
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


MAX_LINK = 300
"""A longer link is a pasted tracking URL; it also keeps a protest's text well under limits."""
_HTTP_URL = TypeAdapter(HttpUrl)


def _http_link(value: str) -> str:
    """An http(s) URL as pydantic parses it: quotes, '<' and spaces percent-encoded, so a
    pasted link can neither break the HTML it goes into nor point anywhere but the web."""
    return str(_HTTP_URL.validate_python(value.strip()))


HttpLink = Annotated[str, Field(max_length=MAX_LINK), AfterValidator(_http_link)]
"""A link organisers give for a protest, in event files and through /event_add alike."""


def _partial_date(value: str) -> str:
    parse_partial_date(value)
    return value


PartialDate = Annotated[str, AfterValidator(_partial_date)]
"""YYYY, YYYY-MM or YYYY-MM-DD, and a real date (not 2011-02-30)."""


def parse_http_link(text: str) -> str | None:
    """The organiser's typed link, normalised, or None if it is not an http(s) URL."""
    try:
        return TypeAdapter(HttpLink).validate_python(text)
    except ValidationError:
        return None


class ContentError(Exception):
    """A content file is wrong; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Text(_Strict):
    """The same words in both languages: a card is never half translated."""

    en: str = Field(min_length=1)
    ru: str = Field(min_length=1)

    def get(self, language: str) -> str:
        return self.ru if language == "ru" else self.en


class Fact(Text):
    """A statement on a card and the sources that back it."""

    sources: list[str] = Field(min_length=1)
    date: PartialDate | None = None
    """Optional date the fact refers to (YYYY, YYYY-MM or YYYY-MM-DD)."""


class Status(_Strict):
    """What is known of a person's situation, true only as of a dated source."""

    value: Literal[
        "jailed",
        "released",
        "died",
        "awaiting_trial",
        "on_trial",
        "probation",
        "detained",
        "freed_on_bail",
        "unknown",
    ]
    as_of: PartialDate
    sources: list[str] = Field(min_length=1)
    note: Text | None = None


class Action(_Strict):
    """Something a reader can do, as published by the campaign (addresses may be stale)."""

    title: Text
    body: Text
    published: PartialDate
    sources: list[str] = Field(min_length=1)


Slug = Annotated[str, Field(pattern=SLUG_RE)]


class Card(_Strict):
    """One fact card: a prisoner, someone persecuted, someone killed, or a dated event."""

    id: Slug
    kind: Literal["prisoner", "memorial", "anniversary"]
    name: Text
    aliases: list[str] = Field(default_factory=list)
    date: PartialDate | None = None
    """For anniversaries: the recurring day (YYYY-MM-DD); month-only dates are never reminded."""
    commemorated: bool | None = None
    """Anniversaries only, and required there: true for what people are reminded of every
    year (the massacre, a death, the verdicts), false for a dated fact that stays on the
    calendar only (a statement, a visit, an anniversary of an anniversary). An editorial
    choice, so it lives in the content rather than in code."""
    mourning: bool = False
    """Anniversaries only: true when the day commemorates a death or a killing (the massacre,
    a death in custody), so its reminder carries a mourning candle 🕯; other dates (a verdict,
    an acquittal) get a neutral 📅. Also an editorial choice."""
    topics: list[Literal["dec16", "trials", "strike", "repression", "solidarity"]] = Field(
        default_factory=list
    )
    summary: Fact
    timeline: list[Fact] = Field(default_factory=list)
    charges: list[Fact] = Field(default_factory=list)
    sentence: Fact | None = None
    status: Status | None = None
    figures: list[Fact] = Field(default_factory=list)
    ill_treatment: list[Fact] = Field(default_factory=list)
    """Graphic detail: always rendered behind a content warning and a spoiler."""
    disagreements: list[Fact] = Field(default_factory=list)
    open_questions: list[Fact] = Field(default_factory=list)
    commemoration: list[Fact] = Field(default_factory=list)
    demands: list[Fact] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    related: list[Slug] = Field(default_factory=list)

    def facts(self) -> Iterable[Fact]:
        yield self.summary
        for name in (
            "timeline",
            "charges",
            "figures",
            "ill_treatment",
            "disagreements",
            "open_questions",
            "commemoration",
            "demands",
        ):
            yield from getattr(self, name)
        if self.sentence:
            yield self.sentence

    def source_ids(self) -> list[str]:
        """Every source the card cites, in first-cited order."""
        seen: dict[str, None] = {}
        for fact in self.facts():
            seen.update(dict.fromkeys(fact.sources))
        if self.status:
            seen.update(dict.fromkeys(self.status.sources))
        for action in self.actions:
            seen.update(dict.fromkeys(action.sources))
        return list(seen)

    @cached_property
    def anniversary_day(self) -> tuple[int, int] | None:
        """(month, day) the card recurs on, if it has a full date (cached: every schedule
        evaluation asks)."""
        if self.date is None:
            return None
        _, month, day = parse_partial_date(self.date)
        if month is None or day is None:
            return None
        return month, day

    @cached_property
    def year(self) -> int | None:
        return parse_partial_date(self.date)[0] if self.date else None


class Source(_Strict):
    """A published piece a card rests on: who published it, what it is called, when."""

    id: Slug
    publication: str
    title: str
    date: PartialDate
    author: str | None = None
    seed_file: str | None = None
    url: str | None = None


class GlossaryEntry(_Strict):
    """One name in its one English and one Russian form, so every card spells it alike."""

    en: str
    ru: str
    kind: Literal["person", "place", "organisation", "term"]
    note: str | None = None
    source_spellings: list[str] = Field(default_factory=list)
    """Other spellings the sources use: a card may quote them only where it says what the
    sources say (disagreements, open questions) and in search aliases."""
    avoid_en: list[str] = Field(default_factory=list)
    avoid_ru: list[str] = Field(default_factory=list)
    """Renderings never to use in that language. A trailing ``*`` allows any word ending."""


GLOSSARY_FILE = "glossary.yaml"
QUOTING_FIELDS = ("disagreements", "open_questions")
"""Fields where a card reports a source's own spelling."""


def _spelling_pattern(spelling: str) -> re.Pattern[str]:
    """A whole-word match, so "Tuletaev" does not fire inside "Tuletaeva"."""
    stem, any_ending = (spelling[:-1], True) if spelling.endswith("*") else (spelling, False)
    return re.compile(r"(?<!\w)" + re.escape(stem) + (r"\w*" if any_ending else r"(?!\w)"))


class ProtestEvent(_Strict):
    """A dated protest (outside an embassy, say) that subscribers in its city are reminded of."""

    id: Slug
    city: Text
    venue: Text
    address: str
    starts_at: datetime
    """Local wall-clock time at the venue, without offset; ``timezone`` says where."""
    timezone: str
    organiser: Text
    link: HttpLink | None = None
    note: Text | None = None
    cancelled: bool = False

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


def observed_day(year: int, month: int, day: int) -> date:
    """The day an anniversary on ``month``/``day`` is marked in ``year``: 29 February falls
    on 28 February in common years, the day people would otherwise miss it."""
    if (month, day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def parse_partial_date(value: str) -> tuple[int, int | None, int | None]:
    """Parse YYYY, YYYY-MM or YYYY-MM-DD and reject impossible dates like 2011-02-30."""
    match = PARTIAL_DATE_RE.match(str(value))
    if not match:
        raise ValueError(f"invalid date {value!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    year_part, month_part, day_part = match.groups()
    year = int(year_part)
    month = int(month_part) if month_part else None
    day = int(day_part) if day_part else None
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"invalid month in {value!r}")
    if month is not None and day is not None:
        date(year, month, day)
    return year, month, day


@dataclass
class Content:
    """Everything under ``content/``, validated and cross-checked."""

    sources: dict[str, Source] = field(default_factory=dict)
    cards: dict[str, Card] = field(default_factory=dict)
    events: dict[str, ProtestEvent] = field(default_factory=dict)
    glossary: list[GlossaryEntry] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    """Which file each card, source and event came from, for error messages."""


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: cannot read YAML: {exc}") from exc


def _describe(path: Path, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"{path}: field {where}: {error['msg']}")
    return "\n".join(lines)


def _load_dir(
    directory: Path, model: type[_Strict], errors: list[str]
) -> list[tuple[Path, _Strict]]:
    loaded = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue  # templates and examples
        raw = _read_yaml(path)
        try:
            loaded.append((path, model.model_validate(raw)))
        except ValidationError as exc:
            errors.append(_describe(path, exc))
    return loaded


def load_content(root: Path = CONTENT_DIR) -> Content:
    """Load and check all content; raise ContentError listing every problem found."""
    errors: list[str] = []
    content = Content()
    for path, source in _load_dir(root / "sources", Source, errors):
        _add_unique(content.sources, source, path, content.files, errors)
    for sub in ("people", "anniversaries"):
        for path, card in _load_dir(root / sub, Card, errors):
            _add_unique(content.cards, card, path, content.files, errors)
    for path, event in _load_dir(root / "events", ProtestEvent, errors):
        _add_unique(content.events, event, path, content.files, errors)
    content.glossary = _load_glossary(root / GLOSSARY_FILE, errors)
    errors.extend(cross_check(content))
    if errors:
        raise ContentError("\n".join(errors))
    return content


def _load_glossary(path: Path, errors: list[str]) -> list[GlossaryEntry]:
    if not path.exists():
        return []
    raw = _read_yaml(path)
    if not isinstance(raw, list):
        errors.append(f"{path}: the glossary is a list of entries")
        return []
    entries = []
    for number, item in enumerate(raw):
        try:
            entries.append(GlossaryEntry.model_validate(item))
        except ValidationError as exc:
            errors.append(_describe(path, exc).replace(f"{path}: ", f"{path}: entry {number}: "))
    return entries


def glossary_problems(content: Content) -> list[str]:
    """Cards that spell a glossary name another way than the glossary does."""
    rules: list[tuple[str, re.Pattern[str], str, bool]] = []
    for entry in content.glossary:
        for language, avoid in (("en", entry.avoid_en), ("ru", entry.avoid_ru)):
            wanted = entry.ru if language == "ru" else entry.en
            rules.extend((language, _spelling_pattern(s), wanted, False) for s in avoid)
        for spelling in entry.source_spellings:
            for language in LANGUAGES:
                wanted = entry.ru if language == "ru" else entry.en
                rules.append((language, _spelling_pattern(spelling), wanted, True))
    problems = []
    for card in content.cards.values():
        where = content.files.get(card.id, card.id)
        for field_name, text_of in _card_fields(card):
            for language, pattern, wanted, quotable in rules:
                if quotable and field_name in QUOTING_FIELDS:
                    continue
                found = pattern.search(text_of.get(language))
                if found:
                    problems.append(
                        f"{where}: field {field_name}.{language}: {found.group()!r} is not the "
                        f"glossary's form ({wanted!r}, {GLOSSARY_FILE})")
    return problems


def _card_fields(card: Card) -> Iterable[tuple[str, Text]]:
    yield "name", card.name
    for name in ("summary", "sentence"):
        if getattr(card, name) is not None:
            yield name, getattr(card, name)
    for name in ("timeline", "charges", "figures", "ill_treatment", "disagreements",
                 "open_questions", "commemoration", "demands"):
        for fact in getattr(card, name):
            yield name, fact
    if card.status and card.status.note:
        yield "status", card.status.note
    for action in card.actions:
        yield "actions", action.title
        yield "actions", action.body


def _add_unique(target: dict, item, path: Path, files: dict[str, Path], errors: list[str]) -> None:
    if item.id in target or item.id in files:
        errors.append(f"{path}: field id: {item.id!r} already used in {files[item.id]}")
        return
    target[item.id] = item
    files[item.id] = path


def cross_check(content: Content) -> list[str]:
    """Checks no single file can make: references, collisions, private data."""
    errors: list[str] = []
    alias_owner: dict[str, str] = {}
    for card in content.cards.values():
        where = content.files.get(card.id, card.id)
        for number, fact in enumerate(card.facts()):
            for source_id in fact.sources:
                if source_id not in content.sources:
                    errors.append(f"{where}: unknown source {source_id!r} (fact {number})")
        for source_id in card.source_ids():
            if source_id not in content.sources:
                errors.append(f"{where}: unknown source {source_id!r}")
        for related in card.related:
            if related not in content.cards:
                errors.append(f"{where}: field related: unknown card {related!r}")
        if card.kind == "anniversary" and not card.date:
            errors.append(f"{where}: field date: anniversaries need a date")
        if card.kind == "anniversary" and card.commemorated is None:
            errors.append(f"{where}: field commemorated: anniversaries need "
                          "'commemorated: true' (reminded every year) or 'false' (calendar only)")
        if card.kind != "anniversary" and card.commemorated is not None:
            errors.append(f"{where}: field commemorated: only anniversaries have it")
        if card.kind != "anniversary" and card.mourning:
            errors.append(f"{where}: field mourning: only anniversaries have it")
        names = {card.name.en, card.name.ru, *card.aliases}
        for name in names:
            key = normalise(name)
            if not key:
                continue
            owner = alias_owner.setdefault(key, card.id)
            if owner != card.id:
                errors.append(f"{where}: field aliases: {name!r} also names {owner!r} "
                              f"({content.files.get(owner, owner)})")
        for text in _card_texts(card, include_actions=False):
            if EMAIL_RE.search(text):
                errors.append(f"{where}: an e-mail address outside 'actions': {text[:60]!r}")
            if any(
                sum(ch.isdigit() for ch in match.group()) >= PHONE_MIN_DIGITS
                for match in PHONE_RE.finditer(text)
            ):
                errors.append(f"{where}: what looks like a phone number: {text[:60]!r}")
    errors.extend(glossary_problems(content))
    return sorted(set(errors), key=errors.index)


def _card_texts(card: Card, include_actions: bool = True) -> Iterable[str]:
    yield card.name.en
    yield card.name.ru
    for fact in card.facts():
        yield fact.en
        yield fact.ru
    if card.status and card.status.note:
        yield card.status.note.en
        yield card.status.note.ru
    if include_actions:
        for action in card.actions:
            yield from (action.title.en, action.title.ru, action.body.en, action.body.ru)
