"""Card content: the schema editors write against (loading it is ``bot.content.loading``).

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

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.i18n import LANGUAGES, card_fallback

SLUG_RE = r"^[a-z0-9][a-z0-9-]{1,46}[a-z0-9]$"
"""Slugs double as deep-link payloads, so they stay inside Telegram's payload alphabet."""

PARTIAL_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

MAX_LINK = 300
"""A longer link is a pasted tracking URL; it also keeps a protest's text well under limits."""
_HTTP_URL = TypeAdapter(HttpUrl)
MAX_UPDATE = 1000
"""Characters of an update's text, in each language: its news message (with the card's name
and the sources) then stays far inside Telegram's 4096, even folded into a day's reminder."""


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


LanguageText = Annotated[str, Field(min_length=1)]

REQUIRED_LANGUAGES = ("en", "ru")
"""Every text is written in these; any other of the bot's languages is optional."""


class Text(_Strict):
    """The same words in several languages, keyed by language code side by side in the YAML
    (``en:``, ``ru:``, ``kk:``…): English and Russian always, any other of the bot's languages
    when it has been translated. A further language is data, not a new field."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)
    __pydantic_extra__: dict[str, LanguageText] = Field(init=False)

    en: LanguageText
    ru: LanguageText

    @model_validator(mode="after")
    def _only_languages(self) -> Text:
        for key in self.__pydantic_extra__ or {}:
            if key not in LANGUAGES:
                raise ValueError(
                    f"unknown field {key!r}: a text is written in "
                    f"{', '.join(LANGUAGES)} (and cites sources)"
                )
        return self

    @property
    def texts(self) -> dict[str, str]:
        """Language code -> text, English and Russian first."""
        return {"en": self.en, "ru": self.ru, **(self.__pydantic_extra__ or {})}

    def has(self, language: str) -> bool:
        return language in self.texts

    def get(self, language: str) -> str:
        """The text in ``language``, else in the language its readers fall back to."""
        texts = self.texts
        return texts.get(language) or texts.get(card_fallback(language)) or self.en


class Fact(Text):
    """A statement on a card and the sources that back it."""

    sources: list[str] = Field(min_length=1)
    date: PartialDate | None = None
    """Optional date the fact refers to (YYYY, YYYY-MM or YYYY-MM-DD)."""


class CaseUpdate(Fact):
    """News in a person's case that the editors recorded (a release, a retrial, a death), on a
    full date: followers of the card are told of it once (``bot.reminders.news``). The date
    is also the update's identity, so a card has at most one update a day."""

    date: PartialDate

    @field_validator("date")
    @classmethod
    def _full_date(cls, value: str) -> str:
        if parse_partial_date(value)[2] is None:
            raise ValueError("an update needs a full date (YYYY-MM-DD)")
        return value

    @model_validator(mode="after")
    def _short(self) -> CaseUpdate:
        for language in ("en", "ru"):
            if len(self.get(language)) > MAX_UPDATE:
                raise ValueError(
                    f"the {language} text is over {MAX_UPDATE} characters: news "
                    "is told in a message of its own, so say it in a few lines"
                )
        return self


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
    """One fact card: a prisoner, someone persecuted, someone killed, someone shot or wounded,
    or a dated event."""

    id: Slug
    kind: Literal["prisoner", "memorial", "wounded", "anniversary"]
    """``prisoner``: jailed, tried or otherwise persecuted; ``memorial``: killed or died;
    ``wounded``: shot or wounded, and the sources do not say what became of them (neither a
    prisoner nor in memory); ``anniversary``: a dated event."""
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
    updates: list[CaseUpdate] = Field(default_factory=list)
    """News in the case, as the editors record it; shown latest first."""
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

    @field_validator("updates")
    @classmethod
    def _one_update_a_day(cls, updates: list[CaseUpdate]) -> list[CaseUpdate]:
        dates = [update.date for update in updates]
        twice = sorted({day for day in dates if dates.count(day) > 1})
        if twice:
            raise ValueError(f"two updates on {', '.join(twice)}: make them one")
        return updates

    def latest_updates(self) -> list[CaseUpdate]:
        """The card's updates, latest first (the order the card shows them in)."""
        return sorted(self.updates, key=lambda update: update.date, reverse=True)

    def facts(self) -> Iterable[Fact]:
        yield self.summary
        yield from self.latest_updates()
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

    def texts(self) -> Iterable[tuple[str, Text]]:
        """Every text on the card with the field it is in, in reading order."""
        yield "name", self.name
        yield "summary", self.summary
        if self.sentence:
            yield "sentence", self.sentence
        if self.status and self.status.note:
            yield "status", self.status.note
        for name in (
            "updates",
            "timeline",
            "charges",
            "figures",
            "ill_treatment",
            "disagreements",
            "open_questions",
            "commemoration",
            "demands",
        ):
            for fact in getattr(self, name):
                yield name, fact
        for action in self.actions:
            yield "actions", action.title
            yield "actions", action.body

    @cached_property
    def languages(self) -> tuple[str, ...]:
        """The languages the whole card is written in (a half-translated card is shown in
        its fallback language, and ``content check`` reports it)."""
        return tuple(
            language
            for language in LANGUAGES
            if all(text.has(language) for _, text in self.texts())
        )

    def text_language(self, language: str) -> str:
        """The language the card's own words are shown in to a reader of ``language``."""
        return language if language in self.languages else card_fallback(language)

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
    publication_ru: str | None = None
    """The publication line in Russian, when it holds more than names ("reposted by",
    "blog"): a Russian card's sources read in Russian. Titles stay as published."""
    title: str
    date: PartialDate
    author: str | None = None
    author_ru: str | None = None
    seed_file: str | None = None
    url: str | None = None

    def publication_in(self, language: str) -> str:
        if language == "ru" and self.publication_ru:
            return self.publication_ru
        return self.publication

    def author_in(self, language: str) -> str | None:
        if language == "ru" and self.author_ru:
            return self.author_ru
        return self.author


class GlossaryEntry(_Strict):
    """One name in its one English, Russian and Kazakh form, so every card spells it alike."""

    en: str
    ru: str
    kk: str
    """The form Kazakh-language media use (Жаңаөзен, Маңғыстау, Ақтау)."""
    kind: Literal["person", "place", "organisation", "term"]
    note: str | None = None
    source_spellings: list[str] = Field(default_factory=list)
    """Other spellings the sources use: a card may quote them only where it says what the
    sources say (disagreements, open questions) and in search aliases."""
    avoid_en: list[str] = Field(default_factory=list)
    avoid_ru: list[str] = Field(default_factory=list)
    avoid_kk: list[str] = Field(default_factory=list)
    """Renderings never to use in that language (in Kazakh text, usually the Russian form:
    Жанаозен*). A trailing ``*`` allows any word ending."""

    def form(self, language: str) -> str:
        return {"en": self.en, "ru": self.ru, "kk": self.kk}.get(language, self.en)

    def avoided(self, language: str) -> list[str]:
        return {"en": self.avoid_en, "ru": self.avoid_ru, "kk": self.avoid_kk}.get(language, [])


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
    sequence: int = Field(default=0, ge=0, exclude=True)
    """How often the bot has seen it change (the calendar's SEQUENCE): kept by the bot, not
    written in files (``protests.model.versioned``)."""

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
