"""Translations: Russian and Kazakh really come out, plural forms follow each language's
grammar, and no UI string is left untranslated (a missing catalogue silently falls back to
English)."""

from datetime import date

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, LOCALES_DIR, pick_language, translator

TRANSLATED = [language for language in LANGUAGES if language != "en"]
"""Every catalogue a person reads (English is the source strings)."""


def test_russian_string_is_translated():
    assert translator("ru").gettext("Prisoners") == "Заключённые"
    assert translator("en").gettext("Prisoners") == "Prisoners"


def test_russian_plurals_have_three_forms():
    tr = translator("ru")
    assert tr.days_until(1) == "через 1 день"
    assert tr.days_until(3) == "через 3 дня"
    assert tr.days_until(5) == "через 5 дней"
    assert tr.days_until(21) == "через 21 день"
    assert tr.years_ago(15) == "15 лет назад"
    assert tr.years_ago(22) == "22 года назад"
    assert translator("en").years_ago(1) == "1 year ago"


def test_dates_through_babel():
    assert translator("ru").date(date(2011, 12, 16)) == "16 декабря 2011\u202fг."
    assert translator("en").date(date(2011, 12, 16)) == "December 16, 2011"
    assert translator("ru").partial_date("2012-06") == "июнь 2012\u202fг."


def test_language_choice():
    assert pick_language(None, "ru") == "ru"
    assert pick_language(None, "kk") == "kk"
    assert pick_language(None, "ky") == "ru"
    assert pick_language(None, "uk") == "ru"
    assert pick_language(None, "de") == "en"
    assert pick_language(None, None) == "en"
    assert pick_language("en", "ru") == "en"


def test_kazakh_string_plurals_and_dates():
    tr = translator("kk")
    assert tr.gettext("Prisoners") == "Тұтқындар"
    # Kazakh nouns stay singular after a number: CLDR's two forms read alike.
    assert tr.days_until(1) == "1 күннен кейін"
    assert tr.days_until(5) == "5 күннен кейін"
    assert tr.years_ago(15) == "15 жыл бұрын"
    assert tr.date(date(2011, 12, 16)) == "2011\u202fж. 16 желтоқсан"
    assert tr.partial_date("2012-06") == "2012\u202fж. маусым"


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalogue_complete_and_not_fuzzy(language):
    assert {"ru", "kk"} <= set(TRANSLATED)
    with (LOCALES_DIR / language / "LC_MESSAGES" / "bot.po").open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    with (LOCALES_DIR / "bot.pot").open("rb") as pot_file:
        template = read_po(pot_file)
    untranslated = [
        m.id
        for m in catalog
        if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    missing = [m.id for m in template if m.id and m.id not in catalog]
    assert not untranslated, f"untranslated: {untranslated[:5]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:5]}"
    assert not missing, f"run the catalogue update: {missing[:5]}"


def _literal_msgids() -> set[str]:
    """Every string literal the code passes to _(), N_(), gettext() or ngettext().

    Read with ast, so a call inside an f-string counts too: pybabel on Python 3.11 cannot see
    those, and the string would silently stay English.
    """
    import ast

    found = set()
    for path in (LOCALES_DIR.parent / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if (
                name in ("_", "N_", "gettext", "ngettext")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.add(first.value)
    return found


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_in_the_code_is_translated(language):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "bot.po").open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    translated = set()
    for message in catalog:
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if key and all(message.string if isinstance(message.string, tuple) else [message.string]):
            translated.add(key)
    missing = sorted(_literal_msgids() - translated)
    assert not missing, f"not in the {language} catalogue (run make translations): {missing[:5]}"
