"""Turning a card into Telegram HTML: escaped, sourced, paged within the 4096 limit.

Rendering is plain Python so the content check, the preview command and the tests can render
every card without Telegram.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from telegram.helpers import create_deep_linked_url

from bot.content.library import Library, next_occurrence
from bot.content.schema import Card, Fact
from bot.i18n import N_, Translator
from bot.memo import Memo, PerOwner

MESSAGE_LIMIT = 4096
PAGE_BUDGET = 3900
"""Visible characters per page: below Telegram's 4096 with room for the page footer."""

STATUS_LABELS = {
    "jailed": N_("in prison"),
    "released": N_("released"),
    "died": N_("died"),
    "awaiting_trial": N_("awaiting trial"),
    "on_trial": N_("on trial"),
    "probation": N_("on probation"),
    "detained": N_("detained"),
    "freed_on_bail": N_("freed pending trial"),
    "unknown": N_("unknown"),
}
KIND_LABELS = {
    "prisoner": N_("Prisoner and persecuted"),
    "memorial": N_("In memory"),
    "wounded": N_("Shot or wounded"),
    "anniversary": N_("Anniversary"),
}
DATED_EVENT_LABEL = N_("Dated event")
"""An anniversary card that is not commemorated (a statement, a visit, a concert cancelled):
on the calendar, but no anniversary in the sense of a day people mark."""


def date_label(tr: Translator, value: str) -> str:
    """A fact's date where it starts a line: capitalised («Июнь 2012 г.: …»)."""
    label = tr.partial_date(value)
    return label[:1].upper() + label[1:]


def kind_label(card: Card) -> str:
    """The untranslated label under a card's name: what kind of card it is."""
    if card.kind == "anniversary" and not card.commemorated:
        return DATED_EVENT_LABEL
    return KIND_LABELS[card.kind]


SECTION_TITLES = (
    # (card field, heading); order is the order on the card.
    ("timeline", N_("What happened")),
    ("charges", N_("Charges")),
    ("figures", N_("Figures")),
    ("disagreements", N_("Where sources disagree")),
    ("open_questions", N_("Questions still open")),
    ("commemoration", N_("Commemoration")),
    ("demands", N_("What campaigners demand")),
)

NOT_TRANSLATED = {
    "ru": N_("This card has not been translated into your language yet: it is shown in Russian."),
    "en": N_("This card has not been translated into your language yet: it is shown in English."),
}
"""The line on a card shown in its fallback language, by the language it is shown in."""
GUILLEMETS = frozenset({"ru", "kk"})
"""Languages that quote a source's title «so»."""

_TAG_RE = re.compile(r"<[^>]+>")


def esc(text: str) -> str:
    """Escape text between tags (quotes may stay as they are there)."""
    return html.escape(text, quote=False)


def attr(value: str) -> str:
    """Escape a value for inside a double-quoted attribute such as ``href="…"``: a bare quote
    there would end the attribute, and Telegram would reject the whole message."""
    return html.escape(value, quote=True)


def heading(text: str) -> str:
    return f"<b>{esc(text)}</b>"


def visible_length(markup: str) -> int:
    """Length Telegram counts: text after the HTML entities are parsed."""
    return len(html.unescape(_TAG_RE.sub("", markup)))


@dataclass(frozen=True, slots=True)
class RenderedCard:
    card: Card
    pages: list[str]


_rendered: PerOwner[RenderedCard] = PerOwner()
"""Rendered cards per library: the content of a library never changes, and a card is read
far more often than the content is reloaded (which builds a new library)."""


class CardRenderer:
    """Renders cards for one language; numbers sources in the order a card first cites them."""

    def __init__(self, library: Library, tr: Translator, bot_username: str | None = None) -> None:
        self.library = library
        self.tr = tr
        self.bot_username = bot_username

    def render(self, card: Card) -> RenderedCard:
        """The card's pages, rendered once per language and bot name."""
        key = (card.id, self.tr.language, self.bot_username)
        found = _rendered.get(self.library, key, lambda: self._render(card))
        if found.card is not card:  # not this library's card (a variant made in a test)
            found = self._render(card)
        return RenderedCard(card, list(found.pages))

    def _render(self, card: Card) -> RenderedCard:
        _ = self.tr.gettext
        # The card's own words in the reader's language, or (said so on the card) in the
        # language its readers fall back to; the bot's own words are always the reader's.
        words = card.text_language(self.tr.language)
        numbers = {source_id: n for n, source_id in enumerate(card.source_ids(), start=1)}
        header = self._header(card, words)
        blocks: list[str] = [self._fact(card.summary, numbers, words)]
        if words != self.tr.language:
            blocks.insert(0, f"<i>{esc(_(NOT_TRANSLATED[words]))}</i>")
        if card.updates:  # news in the case comes before its history, the latest first
            news = "\n".join(
                f"• {self._fact(update, numbers, words)}" for update in card.latest_updates()
            )
            blocks.append(heading(_("Latest news")) + "\n" + news)
        if card.sentence:
            blocks.append(
                heading(_("Sentence")) + "\n" + self._fact(card.sentence, numbers, words)
            )
        if card.status:
            blocks.append(self._status(card, numbers, words))
        for field, title in SECTION_TITLES:
            facts: list[Fact] = getattr(card, field)
            if facts:
                lines = "\n".join(f"• {self._fact(fact, numbers, words)}" for fact in facts)
                blocks.append(heading(_(title)) + "\n" + lines)
        if card.ill_treatment:
            blocks.append(self._content_warning(card, numbers, words))
        for action in card.actions:
            published = self.tr.partial_date(action.published)
            refs = self._refs(action.sources, numbers)
            stale = _("Published %(date)s; addresses and names may be out of date.")
            blocks.append(
                heading(_("What you can do") + ": " + action.title.get(words))
                + f"\n<i>{esc(stale % {'date': published})}</i>\n"
                + f"{esc(action.body.get(words))}{refs}"
            )
        footer = self._footer(card)
        by_number = {number: source_id for source_id, number in numbers.items()}

        def sources_for(cited: set[int]) -> str:
            return self._sources({by_number[n]: n for n in sorted(cited) if n in by_number})

        return RenderedCard(card, paginate(header, blocks, footer, sources_for))

    def _header(self, card: Card, words: str) -> str:
        _ = self.tr.gettext
        title = f"<b>{esc(card.name.get(words))}</b>"
        kind = esc(_(kind_label(card)))
        if card.kind == "anniversary" and card.date:
            kind = f"{kind} · {esc(self.tr.partial_date(card.date))}"
        return f"{title}\n<i>{kind}</i>"

    def _fact(self, fact: Fact, numbers: dict[str, int], words: str) -> str:
        text = esc(fact.get(words))
        if fact.date:
            text = f"<b>{esc(date_label(self.tr, fact.date))}</b>: {text}"
        return text + self._refs(fact.sources, numbers)

    @staticmethod
    def _refs(source_ids: list[str], numbers: dict[str, int]) -> str:
        return " " + "".join(f"[{numbers[s]}]" for s in source_ids if s in numbers)

    def _status(self, card: Card, numbers: dict[str, int], words: str) -> str:
        _ = self.tr.gettext
        status = card.status
        assert status is not None
        line = _("%(status)s (as of %(date)s)") % {
            "status": _(STATUS_LABELS[status.value]),
            "date": self.tr.partial_date(status.as_of),
        }
        text = heading(_("Status")) + f": {esc(line)}{self._refs(status.sources, numbers)}"
        if status.note:
            text += f"\n{esc(status.note.get(words))}"
        return text

    def _content_warning(self, card: Card, numbers: dict[str, int], words: str) -> str:
        _ = self.tr.gettext
        warning = _("Content warning: reported torture or violence. Tap to reveal.")
        details = "\n".join(f"• {self._fact(fact, numbers, words)}" for fact in card.ill_treatment)
        return (
            heading(_("Reported ill-treatment")) + f"\n⚠️ <i>{esc(warning)}</i>\n"
            f"<tg-spoiler>{details}</tg-spoiler>"
        )

    def _sources(self, numbers: dict[str, int]) -> str:
        _ = self.tr.gettext
        lines = []
        for source_id, number in numbers.items():
            source = self.library.sources.get(source_id)
            if source is None:
                continue
            when = self.tr.partial_date(source.date)
            publication = esc(source.publication_in(self.tr.language))
            lines.append(
                f"[{number}] {publication}, «{esc(source.title)}», {esc(when)}"
                if self.tr.language in GUILLEMETS
                else f"[{number}] {publication}, “{esc(source.title)}”, {esc(when)}"
            )
        return heading(_("Sources")) + "\n" + "\n".join(lines)

    def _footer(self, card: Card) -> str:
        if not self.bot_username:
            return ""
        link = create_deep_linked_url(self.bot_username, card.id)
        return f'<a href="{attr(link)}">{esc(self.tr.gettext("Open this card in the bot"))}</a>'


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis: button labels, inline titles, descriptions."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ·,.;:—-") + "…"


def paginate(
    header: str,
    blocks: list[str],
    footer: str,
    sources_for: Callable[[set[int]], str] | None = None,
) -> list[str]:
    """Pack blocks into pages under the limit.

    Every page repeats the header and footer and lists the sources its own facts cite, so a
    page forwarded on its own still says what it is, where it comes from and who says so.
    """
    fixed = visible_length(header) + visible_length(footer) + 16
    budget = PAGE_BUDGET - fixed
    pages: list[list[str]] = [[]]
    for block in blocks:
        for piece in _split_block(block, budget // 2 if sources_for else budget):
            candidate = [*pages[-1], piece]
            if pages[-1] and _page_size(candidate, sources_for) > budget:
                pages.append([piece])
            else:
                pages[-1] = candidate
    total = len(pages)
    rendered = []
    for number, page_blocks in enumerate(pages, start=1):
        head = header if total == 1 else f"{header} ({number}/{total})"
        parts = [head, *page_blocks]
        if sources_for:
            parts.append(sources_for(_cited(page_blocks)))
        if footer:
            parts.append(footer)
        rendered.append("\n\n".join(parts))
    return rendered


_REF_RE = re.compile(r"\[(\d+)\]")


def _cited(blocks: list[str]) -> set[int]:
    return {int(n) for block in blocks for n in _REF_RE.findall(block)}


def _page_size(blocks: list[str], sources_for: Callable[[set[int]], str] | None) -> int:
    size = sum(visible_length(block) + 2 for block in blocks)
    if sources_for:
        size += visible_length(sources_for(_cited(blocks))) + 2
    return size


def _split_block(block: str, budget: int) -> list[str]:
    """A block too long for one page is cut between lines (never inside a tag)."""
    if visible_length(block) <= budget:
        return [block]
    if block.count("<tg-spoiler>"):
        # Cutting inside a spoiler would break the HTML: re-open it on each piece.
        head, _, rest = block.partition("<tg-spoiler>")
        inner = rest.removesuffix("</tg-spoiler>")
        return [
            f"{head}<tg-spoiler>{piece}</tg-spoiler>"
            if i == 0
            else f"<tg-spoiler>{piece}</tg-spoiler>"
            for i, piece in enumerate(_split_lines(inner, budget - visible_length(head)))
        ]
    return _split_lines(block, budget)


def _split_lines(text: str, budget: int) -> list[str]:
    pieces: list[str] = [""]
    for line in text.split("\n"):
        candidate = f"{pieces[-1]}\n{line}" if pieces[-1] else line
        if visible_length(candidate) > budget and pieces[-1]:
            pieces.append(line)
        else:
            pieces[-1] = candidate
    return pieces


AGE_LINE_CACHE_SIZE = 4096
_age_lines: Memo[str] = Memo(AGE_LINE_CACHE_SIZE)


def age_line(tr: Translator, card: Card, today: date) -> str:
    """'in 22 days · 15 years ago' style line for calendars and reminders.

    Remembered per card, day and language: every /anniversaries shows the same lines all day.
    """
    # The line depends on the card only through its date.
    return _age_lines.get((card.date, today, tr.language), lambda: _age_line(tr, card, today))


def _age_line(tr: Translator, card: Card, today: date) -> str:
    day = next_occurrence(card, today)
    if day is None or card.year is None:
        return ""
    years = day.year - card.year
    return f"{tr.days_until((day - today).days)} · {tr.years_ago(years)}"
