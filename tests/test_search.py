"""Names match across scripts, transliterations and the sources' spelling variants."""

import pytest

from bot.content.library import Library, content_documents, parse_day_month
from bot.content.loading import load_content


@pytest.fixture(scope="module")
def library():
    return Library.from_documents(content_documents(load_content()))


@pytest.mark.parametrize("query", ["Tuletaeva", "Тулетаева", "tuletayeva", "tulet", "Роза"])
def test_tuletaeva_spellings(library, query):
    assert library.find(query)[0].key == "roza-tuletaeva"


@pytest.mark.parametrize("query", ["Dosmagambetov", "Dosmagamebetov", "Досмагамбетов"])
def test_dosmagambetov_spellings(library, query):
    assert library.find(query)[0].key == "maksat-dosmagambetov"


def test_dates(library):
    assert parse_day_month("16.12") == (12, 16, None)
    assert parse_day_month("16 dec") == (12, 16, None)
    assert parse_day_month("16 декабря 2011") == (12, 16, 2011)
    assert parse_day_month("31.02") is None
    assert parse_day_month("hello") is None
    assert "zhanaozen-massacre" in [c.id for c in library.by_date_query("16.12.2011")]


def test_nothing_for_garbage(library):
    assert library.find("") == []
    assert library.find("x") == []
    assert library.find("qqqqzzzz") == []


@pytest.mark.parametrize("query", ["zhanaozen", "ZHANAOZEN", "жанаозен", "Жаңаөзен", "Janaozen",
                                   "16.12", "16 декабря"])
def test_an_exact_name_or_the_dates_commemoration_is_the_answer(library, query):
    """"Zhanaozen" also starts other cards' names, and Independence Day shares the date: an
    alias named exactly, or the one commemoration on the date, still opens one card."""
    assert [card.id for card in library.lookup(query, ("anniversary",))] == ["zhanaozen-massacre"]
    assert [card.id for card in library.lookup(query)] == ["zhanaozen-massacre"]


def test_a_choice_is_left_only_between_equal_matches(library):
    assert len(library.lookup("zhanaozen s", ("anniversary",))) > 1
