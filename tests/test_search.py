"""Names match across scripts, transliterations and the sources' spelling variants."""

import pytest

from bot.content.dates import DateQuery, parse_date
from bot.content.folding import normalise
from bot.content.intent import ignored_words
from bot.content.library import Library, content_documents
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16.12", DateQuery(12, 16)),
        ("16 dec", DateQuery(12, 16)),
        ("16 декабря 2011", DateQuery(12, 16, 2011)),
        ("4th of June", DateQuery(6, 4)),
        ("Sept 28", DateQuery(9, 28)),
        ("12/16/2011", DateQuery(12, 16, 2011)),
        ("в декабре 2011", DateQuery(12, None, 2011)),
        ("июнь", DateQuery(6)),
        ("31.02", None),
        ("hello", None),
        ("Tuletaeva 2012", None),
        ("16 Tuletaeva", None),
    ],
)
def test_dates(text, expected):
    assert parse_date(text, ignored_words()) == expected


def test_nothing_for_garbage(library):
    assert library.find("") == []
    assert library.find("x") == []
    assert library.find("qqqqzzzz") == []


@pytest.mark.parametrize(
    "query", ["zhanaozen", "ZHANAOZEN", "жанаозен", "Жаңаөзен", "Janaozen", "16.12", "16 декабря"]
)
def test_an_exact_name_or_the_dates_commemoration_is_the_answer(library, query):
    """ "Zhanaozen" also starts other cards' names, and Independence Day shares the date: an
    alias named exactly, or the one commemoration on the date, still opens one card."""
    assert [card.id for card in library.lookup(query, ("anniversary",))] == ["zhanaozen-massacre"]
    assert [card.id for card in library.lookup(query)] == ["zhanaozen-massacre"]


def test_a_choice_is_left_only_between_equal_matches(library):
    assert len(library.lookup("zhanaozen tr", ("anniversary",))) > 1


def test_a_new_language_brings_its_month_names_from_babel():
    """Kazakh needs no list of its own: Babel's kk locale has the months."""
    with_kazakh = ("en", "ru", "kk")
    assert parse_date("5 маусым", ignored_words(), with_kazakh) == DateQuery(6, 5)
    assert parse_date("16 желтоқсан 2011", ignored_words(), with_kazakh) == DateQuery(12, 16, 2011)
    assert parse_date("5 маусым", ignored_words()) == DateQuery(6, 5)  # kk is configured
    assert parse_date("5 маусым", ignored_words(), ("en", "ru")) is None  # not a month there


@pytest.mark.parametrize(
    ("kazakh", "latin"), [("Жаңаөзен", "Zhanaozen"), ("Әділов", "Adilov"), ("Қаңтар", "Kantar")]
)
def test_kazakh_letters_fold_like_their_latin_spellings(kazakh, latin):
    assert normalise(kazakh) == normalise(latin)
