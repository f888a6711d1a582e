"""What a page shows, in one language: cards, the index and the calendar as plain data.

Templates only lay these out, so the tests and the builder read the same facts the bot serves
(numbered sources, "as of" dates, the content warning) without parsing HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.content.cards import SECTION_TITLES, STATUS_LABELS, date_label, kind_label
from bot.content.inline import DEC16_CARD
from bot.content.library import Library
from bot.content.schema import Card, Fact, ProtestEvent, parse_partial_date
from bot.i18n import Translator
from bot.protests.model import event_start, live_events
from bot.protests.wording import when_line
from bot.reminders.texts import first_sentence


@dataclass(frozen=True, slots=True)
class FactView:
    text: str
    when: str | None
    refs: list[int]


@dataclass(frozen=True, slots=True)
class SourceView:
    number: int
    publication: str
    title: str
    when: str
    author: str | None
    url: str | None
    """Shown as text, never as a link: the site makes no reader contact another host."""


@dataclass(frozen=True, slots=True)
class ActionView:
    title: str
    body: str
    published: str
    refs: list[int]


@dataclass(frozen=True, slots=True)
class StatusView:
    label: str
    as_of: str
    note: str | None
    refs: list[int]


@dataclass(frozen=True, slots=True)
class CardLink:
    id: str
    name: str
    line: str
    """A short second line: the status for people, the date for anniversaries."""


@dataclass(slots=True)
class CardView:
    id: str
    kind: str
    kind_label: str
    name: str
    names: dict[str, str]
    """The name in every language, shown on the links to the other versions."""
    when: str | None
    summary: FactView
    description: str
    """One sentence for link previews (OpenGraph) and search engines."""
    sentence: FactView | None = None
    status: StatusView | None = None
    sections: list[tuple[str, list[FactView]]] = field(default_factory=list)
    ill_treatment: list[FactView] = field(default_factory=list)
    actions: list[ActionView] = field(default_factory=list)
    related: list[CardLink] = field(default_factory=list)
    sources: list[SourceView] = field(default_factory=list)


def card_view(library: Library, tr: Translator, card: Card) -> CardView:
    """Everything the Telegram card has, sources numbered in the order the card cites them."""
    _ = tr.gettext
    lang = tr.language
    numbers = {source_id: n for n, source_id in enumerate(card.source_ids(), start=1)}

    def fact(item: Fact) -> FactView:
        return FactView(
            item.get(lang),
            date_label(tr, item.date) if item.date else None,
            _refs(item.sources, numbers),
        )

    view = CardView(
        id=card.id,
        kind=card.kind,
        kind_label=_(kind_label(card)),
        name=card.name.get(lang),
        names={code: card.name.get(code) for code in card.languages},
        when=tr.partial_date(card.date) if card.date else None,
        summary=fact(card.summary),
        description=first_sentence(card.summary.get(lang)),
    )
    if card.sentence:
        view.sentence = fact(card.sentence)
    if card.status:
        status = card.status
        view.status = StatusView(
            _(STATUS_LABELS[status.value]),
            tr.partial_date(status.as_of),
            status.note.get(lang) if status.note else None,
            _refs(status.sources, numbers),
        )
    if card.updates:  # as in the bot: the news first, the latest first
        view.sections.append((_("Latest news"), [fact(item) for item in card.latest_updates()]))
    for name, title in SECTION_TITLES:
        facts = getattr(card, name)
        if facts:
            view.sections.append((_(title), [fact(item) for item in facts]))
    view.ill_treatment = [fact(item) for item in card.ill_treatment]
    view.actions = [
        ActionView(
            a.title.get(lang),
            a.body.get(lang),
            tr.partial_date(a.published),
            _refs(a.sources, numbers),
        )
        for a in card.actions
    ]
    view.related = [
        card_link(tr, related)
        for related_id in card.related
        if (related := library.get(related_id)) is not None
    ]
    for source_id, number in numbers.items():
        source = library.sources.get(source_id)
        if source is not None:
            view.sources.append(
                SourceView(
                    number,
                    source.publication_in(lang),
                    source.title,
                    tr.partial_date(source.date),
                    source.author_in(lang),
                    source.url,
                )
            )
    return view


def card_link(tr: Translator, card: Card) -> CardLink:
    _ = tr.gettext
    if card.status:
        line = _("%(status)s (as of %(date)s)") % {
            "status": _(STATUS_LABELS[card.status.value]),
            "date": tr.partial_date(card.status.as_of),
        }
    elif card.date:
        line = tr.partial_date(card.date)
    else:
        line = _(kind_label(card))
    return CardLink(card.id, card.name.get(tr.language), line)


def _refs(source_ids: list[str], numbers: dict[str, int]) -> list[int]:
    return [numbers[s] for s in source_ids if s in numbers]


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    card: CardLink
    day: str
    """Day and month ("16 December"), or "" when the sources give only the month."""
    year: int | None


@dataclass(frozen=True, slots=True)
class NextDate:
    card: CardLink
    day: str
    years: str
    summary: str


@dataclass(frozen=True, slots=True)
class ProtestView:
    id: str
    title: str
    when: str
    where: str
    organiser: str
    note: str | None
    link: str | None


@dataclass(slots=True)
class IndexView:
    next_dates: list[NextDate]
    prisoners: list[CardLink]
    memorials: list[CardLink]
    wounded: list[CardLink]
    calendar: list[tuple[str, list[CalendarEntry]]]
    """Month name and the anniversaries in it, January first."""
    protests: list[ProtestView]
    intro: str


def index_view(library: Library, tr: Translator, today: date, now: datetime) -> IndexView:
    lang = tr.language
    # What the editors mark as commemorated (as the reminders do), not every dated fact.
    upcoming = [occ for occ in library.calendar(today) if occ.card.commemorated]
    # The 16 December commemoration leads; then whatever comes sooner, if anything does.
    chosen = [occ for occ in upcoming if occ.card.id == DEC16_CARD][:1]
    if upcoming and upcoming[0] not in chosen:
        chosen.insert(0, upcoming[0])
    next_dates = [
        NextDate(
            card_link(tr, occ.card),
            tr.date(occ.day),
            f"{tr.days_until(occ.days_away)} · {tr.years_ago(occ.years_since)}",
            first_sentence(occ.card.summary.get(lang)),
        )
        for occ in chosen
    ]
    months: dict[int, list[tuple[tuple, CalendarEntry]]] = {}
    for card in library.anniversaries():
        year, month, day = parse_partial_date(card.date) if card.date else (None, None, None)
        if month is None:
            continue
        # Only the month is known for some: the month's heading says it, the day stays empty.
        shown = tr.date(date(2000, month, day), "d MMMM") if day else ""
        months.setdefault(month, []).append(
            ((day or 0, year or 0, card.id), CalendarEntry(card_link(tr, card), shown, year))
        )
    calendar = [
        (
            tr.date(date(2000, month, 1), "LLLL").capitalize(),
            [entry for _key, entry in sorted(months[month], key=lambda pair: pair[0])],
        )
        for month in sorted(months)
    ]
    massacre = library.get(DEC16_CARD)
    return IndexView(
        next_dates=next_dates,
        prisoners=[card_link(tr, card) for card in library.people(("prisoner",))],
        memorials=[card_link(tr, card) for card in library.people(("memorial",))],
        wounded=[card_link(tr, card) for card in library.people(("wounded",))],
        calendar=calendar,
        protests=[
            protest_view(tr, event)
            for event in sorted(live_events(library.content_events.values(), now), key=event_start)
        ],
        intro=massacre.summary.get(lang) if massacre else "",
    )


def protest_view(tr: Translator, event: ProtestEvent) -> ProtestView:
    _ = tr.gettext
    lang = tr.language
    return ProtestView(
        id=event.id,
        title=_("Protest in %(city)s") % {"city": event.city.get(lang)},
        when=when_line(tr, event),
        where=f"{event.venue.get(lang)}, {event.address}",
        organiser=_("Organiser: %(name)s") % {"name": event.organiser.get(lang)},
        note=event.note.get(lang) if event.note else None,
        link=event.link,
    )
