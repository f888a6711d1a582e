"""Editors' tools: check all content, preview a card in the terminal without Telegram, list
the people whose status needs looking up."""

from __future__ import annotations

import html
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.content.cards import MESSAGE_LIMIT, CardRenderer, visible_length
from bot.content.checks import seed_quote_problems
from bot.content.library import PEOPLE_KINDS, Library, content_documents
from bot.content.loading import load_content
from bot.content.schema import Card, Content, ContentError, parse_partial_date
from bot.i18n import LANGUAGES, card_fallback, translator

PREVIEW_USERNAME = "your_bot"


def render_problems(library: Library) -> list[str]:
    """Every card in both languages must render within Telegram's limits."""
    problems = []
    for language in LANGUAGES:
        renderer = CardRenderer(library, translator(language), PREVIEW_USERNAME)
        for card in library.cards.values():
            for number, page in enumerate(renderer.render(card).pages, start=1):
                if visible_length(page) > MESSAGE_LIMIT:
                    problems.append(
                        f"{card.id} ({language}) page {number}: "
                        f"{visible_length(page)} characters, over {MESSAGE_LIMIT}"
                    )
    return problems


def _load() -> tuple[Content, Library] | None:
    """Content and the library built from it, or None after printing what is wrong."""
    try:
        content = load_content()
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return None
    return content, Library.from_documents(content_documents(content))


def check(seeds: Path | None = None) -> int:
    loaded = _load()
    if loaded is None:
        return 1
    content, library = loaded
    problems = render_problems(library)
    if seeds is not None:
        if not seeds.is_dir():
            print(f"--seeds {seeds}: no such folder", file=sys.stderr)
            return 1
        problems += seed_quote_problems(content, seeds)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    kinds: dict[str, int] = {}
    for card in content.cards.values():
        kinds[card.kind] = kinds.get(card.kind, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(
        f"content OK: {len(content.cards)} cards ({summary}), {len(content.sources)} sources, "
        f"{len(content.events)} protest events"
    )
    return 0


def missing(language: str) -> int:
    """List the cards not written in ``language``, the commemorations first: a translator's
    to-do list. Exit 0: a missing translation is shown in the fallback language, not an error."""
    loaded = _load()
    if loaded is None:
        return 1
    library = loaded[1]
    untranslated = sorted(
        (card for card in library.cards.values() if language not in card.languages),
        key=lambda card: (not card.commemorated, card.kind != "memorial", card.kind, card.id),
    )
    for card in untranslated:
        print(
            f"{card.id}\t{card.kind}{' (commemorated)' if card.commemorated else ''}\t"
            f"{card.name.get(card_fallback(language))}"
        )
    print(
        f"{len(untranslated)} of {len(library.cards)} cards have no {language} text",
        file=sys.stderr,
    )
    return 0


def preview(card_id: str | None, language: str, raw: bool = False) -> int:
    loaded = _load()
    if loaded is None:
        return 1
    library = loaded[1]
    if card_id:
        card = library.get(card_id)
        if card is None:
            matches = library.find(card_id)
            card = library.get(matches[0].key) if matches else None
        if card is None:
            print(f"no card {card_id!r}", file=sys.stderr)
            return 1
        cards = [card]
    else:
        cards = list(library.cards.values())
    renderer = CardRenderer(library, translator(language), PREVIEW_USERNAME)
    for card in cards:
        for page in renderer.render(card).pages:
            print(page if raw else to_terminal(page))
            print(f"\n--- {visible_length(page)} characters ---\n")
    return 0


def to_terminal(markup: str) -> str:
    """Rough terminal rendering of Telegram HTML: bold stays visible, spoilers are marked."""
    text = markup.replace("<tg-spoiler>", "[spoiler: ").replace("</tg-spoiler>", "]")
    text = re.sub(r"</?b>", "*", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text)


FINAL_STATUSES = frozenset({"died"})
"""A status no later source can change: never stale."""


def stale_people(cards: list[Card], today: datetime, years: int) -> list[tuple[str, Card]]:
    """People whose status is unknown or dated more than ``years`` before ``today``, as
    (as-of date, or "unknown"; card), the unknown first, then the oldest: whose case the
    editors should look up next."""
    cutoff = today.year - years, today.month, today.day
    found: list[tuple[tuple[int, int, int], str, Card]] = []
    for card in cards:
        if card.kind not in PEOPLE_KINDS:
            continue
        status = card.status
        if status is None or status.value == "unknown":
            found.append(((0, 0, 0), "unknown", card))
        elif status.value not in FINAL_STATUSES:
            year, month, day = parse_partial_date(status.as_of)
            as_of = (year, month or 12, day or 31)  # "2021" is as of 2021 at the latest
            if as_of < cutoff:
                found.append((as_of, status.as_of, card))
    found.sort(key=lambda item: (item[0], item[2].id))
    return [(when, card) for _, when, card in found]


def stale(years: int) -> int:
    """Print the stale people, one a line; 0 even when some are (it is a to-do list)."""
    loaded = _load()
    if loaded is None:
        return 1
    content = loaded[0]
    found = stale_people(list(content.cards.values()), datetime.now(UTC), years)
    for when, card in found:
        value = card.status.value if card.status else "none"
        print(f"{when:<10}  {value:<14}  {card.id:<32}  {card.name.en}")
    print(
        f"{len(found)} of {sum(c.kind in PEOPLE_KINDS for c in content.cards.values())} "
        f"people have a status older than {years} years or unknown"
    )
    return 0
