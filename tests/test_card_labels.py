"""What a card says it is: the label under its name, and its source lines, in the reader's
language; and the content checks that keep a card from calling itself what it is not."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
import yaml

from bot.content.cards import CardRenderer
from bot.content.checks import seed_quote_problems
from bot.content.library import Library, content_documents
from bot.content.loading import CONTENT_DIR, load_content
from bot.content.schema import ContentError
from bot.i18n import translator


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.from_documents(content_documents(load_content()))


def _header(library: Library, card_id: str, language: str) -> str:
    card = library.get(card_id)
    assert card is not None
    return CardRenderer(library, translator(language)).render(card).pages[0].split("\n")[1]


def test_only_a_commemoration_is_labelled_an_anniversary(library: Library) -> None:
    """A trial of managers or a cancelled concert is a dated event, not «Памятная дата»."""
    assert _header(library, "zhanaozen-massacre", "ru").startswith("<i>Памятная дата · ")
    assert _header(library, "zhanaozen-massacre", "en").startswith("<i>Anniversary · ")
    for card_id in ("officials-trials-2012", "sting-cancels-concert", "kuramshin-freed"):
        assert _header(library, card_id, "ru").startswith("<i>Хроника · "), card_id
        assert _header(library, card_id, "en").startswith("<i>Dated event · "), card_id
    assert _header(library, "rakhat-tazhmivanov", "ru") == "<i>Пострадавшие от стрельбы</i>"


def test_a_russian_card_lists_its_sources_in_russian(library: Library) -> None:
    """Titles stay as published; "reposted by", "blog", "Socialist press" do not."""
    renderer = CardRenderer(library, translator("ru"))
    for card_id in ("zhanaozen-massacre", "arrests-and-questioning-june-2012"):
        card = library.get(card_id)
        assert card is not None
        text = "\n".join(renderer.render(card).pages)
        sources = text.split("<b>Источники</b>")[1]
        for english in ("reposted by", " blog", "Socialist press", "readers'", "campaign article"):
            assert english not in sources, (card_id, english)
    assert "перепечатка: The Russian Reader" in "\n".join(
        CardRenderer(library, translator("ru")).render(library.cards["zhanaozen-massacre"]).pages
    )


def _copy_content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def _edit(path: Path, change: Callable[[dict], object]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _problems(root: Path) -> str:
    with pytest.raises(ContentError) as caught:
        load_content(root)
    return str(caught.value)


def test_the_check_refuses_to_file_someone_shot_as_a_prisoner(tmp_path: Path) -> None:
    root = _copy_content(tmp_path)
    _edit(root / "people" / "rakhat-tazhmivanov.yaml", lambda d: d.__setitem__("kind", "prisoner"))
    problems = _problems(root)
    assert "rakhat-tazhmivanov.yaml: field kind" in problems and "'wounded'" in problems


def test_the_check_refuses_mourning_on_a_day_not_commemorated(tmp_path: Path) -> None:
    root = _copy_content(tmp_path)
    _edit(
        root / "anniversaries" / "sting-cancels-concert.yaml",
        lambda d: d.__setitem__("mourning", True),
    )
    assert "sting-cancels-concert.yaml: field mourning" in _problems(root)


def test_the_check_wants_a_russian_source_line(tmp_path: Path) -> None:
    root = _copy_content(tmp_path)
    _edit(root / "sources" / "socialist-2012-06-jailed.yaml", lambda d: d.pop("publication_ru"))
    problems = _problems(root)
    assert "socialist-2012-06-jailed.yaml: field publication_ru" in problems
    assert "libcom-2011-12-16" not in problems  # a name alone needs no translation
    _edit(root / "sources" / "ck-2011-12-14-day-of-action.yaml", lambda d: d.pop("author_ru"))
    assert "ck-2011-12-14-day-of-action.yaml: field author_ru" in _problems(root)


def test_the_check_refuses_a_quotation_only_the_russian_makes(tmp_path: Path) -> None:
    """A back-translation in quotation marks reads as someone's own words."""
    root = _copy_content(tmp_path)
    path = root / "anniversaries" / "kuramshin-freed.yaml"
    _edit(
        path,
        lambda d: d["summary"].__setitem__(
            "ru", d["summary"]["ru"] + " Курамшин сказал: «присяжные не поддались давлению»."
        ),
    )
    assert "kuramshin-freed.yaml: field summary.ru: quotes" in _problems(root)
    _edit(
        path,
        lambda d: d["summary"].__setitem__(
            "en", d["summary"]["en"] + ' He said "the jury did not succumb to the pressure".'
        ),
    )
    assert load_content(root).cards["kuramshin-freed"]


def test_with_the_articles_every_english_quotation_is_in_their_words(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "000_b6cf2958ab515738.txt").write_text(
        "Roza Tuletaeva, a 46-year-old mother of three, was sentenced to seven years.",
        encoding="utf-8",
    )
    content = load_content()
    assert not [p for p in seed_quote_problems(content, seeds) if "roza-tuletaeva" in p]
    root = _copy_content(tmp_path)
    _edit(
        root / "people" / "roza-tuletaeva.yaml",
        lambda d: d["summary"].update(
            en='The campaign calls her "the bravest of all the strikers".',
            sources=["levy-2012-07-campaign"],
        ),
    )
    problems = seed_quote_problems(load_content(root), seeds)
    assert any("roza-tuletaeva" in p and "bravest of all" in p for p in problems)


async def test_today_calls_a_dated_event_no_anniversary(app, emulator) -> None:
    """On 1 December the next date is Saniya Toyken's list (13 December 2015), which is not
    commemorated: /today says «Ближайшее событие», not «Ближайшая памятная дата»."""
    with time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=True):
        emulator.user_message(42, "/today", language_code="ru")
        reply = await emulator.next_message(42)
    assert "Ближайшее событие — «Список Сании Тойкен" in reply.text
    assert "памятная дата" not in reply.text
