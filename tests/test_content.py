"""Content: every card valid, sourced, within Telegram's limits in both languages, and the
check catches each kind of mistake an editor can make."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.content.cards import MESSAGE_LIMIT, CardRenderer, visible_length
from bot.content.cli import render_problems
from bot.content.library import Library, content_documents
from bot.content.loading import CONTENT_DIR, load_content
from bot.content.schema import ContentError
from bot.i18n import translator


@pytest.fixture(scope="module")
def library():
    return Library.from_documents(content_documents(load_content()))


def test_content_loads_and_renders(library):
    assert not render_problems(library)
    assert library.get("roza-tuletaeva") and library.get("zhanaozen-massacre")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_card_has_sources_and_fits(library, language):
    renderer = CardRenderer(library, translator(language), "zhanaozen_test_bot")
    for card in library.cards.values():
        pages = renderer.render(card).pages
        for page in pages:
            assert visible_length(page) <= MESSAGE_LIMIT
        assert "[1]" in pages[0], card.id


def test_graphic_detail_is_behind_a_spoiler(library):
    card = library.get("roza-tuletaeva")
    page = "".join(CardRenderer(library, translator("en")).render(card).pages)
    assert "<tg-spoiler>" in page
    warning_at = page.index("Content warning")
    assert warning_at < page.index("<tg-spoiler>")


def test_check_command_passes():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "content OK" in result.stdout


def test_check_lists_the_cards_missing_a_language():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check", "--lang", "kk", "--missing"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    listed = {line.split("\t")[0] for line in result.stdout.splitlines()}
    assert "vladimir-kozlov" in listed
    assert not listed & {"zhanaozen-massacre", "roza-tuletaeva", "shetpe-shooting"}
    assert "cards have no kk text" in result.stderr
    preview = subprocess.run(
        [sys.executable, "-m", "bot", "content", "preview", "zhanaozen-massacre", "--lang", "kk"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Жаңаөзендегі қырғын" in preview.stdout


def test_preview_command_in_russian():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "content", "preview", "тулетаева", "--lang", "ru"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Роза Тулетаева" in result.stdout


def _copy_content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["name"].pop("ru"), "name.ru"),
        (lambda d: d["summary"].__setitem__("sources", ["no-such-source"]), "no-such-source"),
        (lambda d: d.__setitem__("date", "2011-02-30"), "date"),
        (lambda d: d.__setitem__("aliases", ["Zhanaozen massacre"]), "aliases"),
        (lambda d: d["summary"].__setitem__("en", "Call him on +7 701 123 45 67."), "phone"),
        (lambda d: d["summary"].__setitem__("en", "Write to someone@example.org now."), "e-mail"),
        (lambda d: d.__setitem__("id", "zhanaozen-massacre"), "already used"),
        (lambda d: d["summary"].__setitem__("ru", "Член организации «Свобода»."), "glossary"),
        (lambda d: d["summary"].__setitem__("ru", "Её защищал CWI."), "glossary"),
        (lambda d: d["summary"].__setitem__("en", "Roza Tuletaev spoke in court."), "glossary"),
        # Kazakh text spells places as Kazakh media do (Жаңаөзен), not in Russian.
        (lambda d: d["summary"].__setitem__("kk", "Жанаозендегі ереуіл."), "summary.kk"),
        (lambda d: d["timeline"][0].pop("kk"), "half translated into 'kk'"),
        (lambda d: d["summary"].__setitem__("de", "Gewerkschafterin."), "unknown field 'de'"),
    ],
)
def test_check_catches_mistakes(tmp_path, change, expected):
    root = _copy_content(tmp_path)
    path = root / "people" / "roza-tuletaeva.yaml"
    _edit(path, change)
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "roza-tuletaeva.yaml" in str(caught.value) or expected == "already used"
    assert expected in str(caught.value)


def test_oversized_card_is_caught(tmp_path):
    root = _copy_content(tmp_path)
    path = root / "people" / "roza-tuletaeva.yaml"
    _edit(path, lambda d: d["summary"].__setitem__("en", "word " * 1000))
    library = Library.from_documents(content_documents(load_content(root)))
    assert any("roza-tuletaeva" in problem for problem in render_problems(library))


def test_every_anniversary_says_whether_it_is_commemorated(tmp_path, library):
    """What recurs is an editorial choice: the field is required, and the choices made keep
    the calendar's dated facts (Independence Day, an anniversary of an anniversary) out of
    the reminders."""
    anniversaries = library.anniversaries()
    assert anniversaries and all(card.commemorated is not None for card in anniversaries)
    chosen = {card.id: card.commemorated for card in anniversaries}
    assert chosen["zhanaozen-massacre"] is True
    assert chosen["independence-day"] is False and chosen["tenth-anniversary-2021"] is False
    root = _copy_content(tmp_path)
    _edit(root / "anniversaries" / "independence-day.yaml", lambda d: d.pop("commemorated"))
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "independence-day.yaml" in str(caught.value)
    assert "commemorated" in str(caught.value)


def test_only_deaths_are_mourned(tmp_path, library):
    """The mourning candle is the editors' mark for a day of deaths, not every reminder."""
    mourned = {card.id for card in library.anniversaries() if card.mourning}
    assert {"zhanaozen-massacre", "aron-atabek-death", "mukhamedzyanov-found-dead"} <= mourned
    assert not mourned & {
        "kuramshin-freed",
        "trial-of-37-verdicts",
        "independence-day",
        "police-officers-sentenced",
    }
    root = _copy_content(tmp_path)
    _edit(root / "people" / "roza-tuletaeva.yaml", lambda d: d.__setitem__("mourning", True))
    with pytest.raises(ContentError) as caught:
        load_content(root)
    assert "roza-tuletaeva.yaml" in str(caught.value) and "mourning" in str(caught.value)


def test_a_source_spelling_may_be_quoted_where_the_card_reports_the_sources(tmp_path):
    root = _copy_content(tmp_path)
    path = root / "people" / "roza-tuletaeva.yaml"
    quote = {
        "en": 'People and Nature once writes "Roza Tuletaev".',
        "ru": "People and Nature однажды пишет «Roza Tuletaev».",
        "kk": "People and Nature бір рет «Roza Tuletaev» деп жазады.",
        "sources": ["pn-2015-12-13-who-ordered"],
    }
    _edit(path, lambda d: d.setdefault("disagreements", []).append(quote))
    load_content(root)  # quoting a source's spelling is what disagreements are for
    _edit(path, lambda d: d.setdefault("timeline", []).append(quote))
    with pytest.raises(ContentError, match=r"timeline\.en: 'Tuletaev' is not the glossary"):
        load_content(root)


def test_the_glossary_does_not_forbid_its_own_forms():
    content = load_content()
    assert content.glossary, "content/glossary.yaml is missing or empty"
    from bot.content.loading import _spelling_pattern

    for entry in content.glossary:
        for spelling in entry.avoid_en + entry.source_spellings:
            assert not _spelling_pattern(spelling).search(entry.en), entry.en
        for spelling in entry.avoid_ru:
            assert not _spelling_pattern(spelling).search(entry.ru), entry.ru
