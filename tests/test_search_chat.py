"""What people type, answered through the real Application over real HTTP: greetings get the
menu, dates in words open their card, and every entry point ranks alike."""

from __future__ import annotations

import pytest
from chat import say

from bot.content.library import Library, content_documents
from bot.content.loading import load_content
from bot.handlers.cards import INTENT_REPLIES
from bot.i18n import translator

USER = 77
SHARER = 78


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.from_documents(content_documents(load_content()))


def menu_labels(language: str) -> set[str]:
    _ = translator(language).gettext
    return {_("Prisoners"), _("Anniversaries"), _("Help")}


@pytest.mark.parametrize(
    ("text", "language", "intent"),
    [
        ("hello", "en", "greeting"),
        ("Hi there!", "en", "greeting"),
        ("привет", "ru", "greeting"),
        ("Добрый день", "ru", "greeting"),
        ("thanks", "en", "thanks"),
        ("спасибо", "ru", "thanks"),
        ("ok", "en", "ack"),
        ("да", "ru", "ack"),
        ("👍", "en", "ack"),
        ("?", "ru", "ack"),
    ],
)
async def test_greetings_get_a_short_answer_and_the_menu(app, emulator, text, language, intent):
    reply = await say(emulator, USER, text, language)
    assert reply.text == translator(language).gettext(INTENT_REPLIES[intent])
    assert menu_labels(language) <= {button["text"] for button in reply.buttons}


async def test_help_typed_shows_the_commands(app, emulator):
    reply = await say(emulator, USER, "помощь", "ru")
    assert "/prisoner" in reply.text and "Команды" in reply.text
    assert menu_labels("ru") <= {button["text"] for button in reply.buttons}


async def test_a_sticker_is_greeted(app, emulator):
    chat = emulator.chat(USER)
    emulator.raw_update(
        {
            "message": {
                "message_id": emulator.next_message_id(USER),
                "date": emulator.now(),
                "chat": chat,
                "from": emulator.user(USER, "ru"),
                "sticker": {
                    "file_id": "F1",
                    "file_unique_id": "U1",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "👋",
                },
            }
        }
    )
    reply = await emulator.next_message(USER)
    assert reply.text == translator("ru").gettext(INTENT_REPLIES["greeting"])


@pytest.mark.parametrize(
    ("text", "language", "card_id"),
    [
        ("4 June", "en", "trial-of-37-verdicts"),
        ("4 июня", "ru", "trial-of-37-verdicts"),
        ("December 16", "en", "zhanaozen-massacre"),
        ("16 декабря 2011", "ru", "zhanaozen-massacre"),
        ("5 июня", "ru", "mukhamedzyanov-found-dead"),
        ("21 May", "en", "shetpe-verdicts"),
    ],
)
async def test_a_date_in_words_opens_that_days_card(
    app, emulator, library, text, language, card_id
):
    reply = await say(emulator, USER, text, language)
    assert reply.text.startswith(library.cards[card_id].name.get(language))


async def test_a_date_without_a_card_names_the_nearest(app, emulator, library):
    reply = await say(emulator, USER, "5 марта", "ru")
    assert "5 марта" in reply.text
    nearest = ("zhanartu-leaders-appeal", "dissenters-arrests-2012")
    assert [button["callback_data"] for button in reply.buttons] == [
        f"card:{card_id}" for card_id in nearest
    ]
    assert "10 февраля 2012" in reply.text and "28 апреля 2012" in reply.text


async def test_a_month_lists_its_cards(app, emulator, library):
    reply = await say(emulator, USER, "June 2012", "en")
    assert "June 2012" in reply.text
    opened = {button["callback_data"] for button in reply.buttons}
    for card_id in ("trial-of-37-verdicts", "mukhamedzyanov-found-dead"):
        assert f"card:{card_id}" in opened


@pytest.mark.parametrize(
    ("query", "card_id"),
    [
        ("Розы Тулетаевой", "roza-tuletaeva"),
        ("Kozlov Vladimir", "vladimir-kozlov"),
        ("Zhanaozn", "zhanaozen-massacre"),
        ("4th of June", "trial-of-37-verdicts"),
        ("hunger strike", "riot-police-attack-hunger-strike"),
    ],
)
async def test_one_ranking_everywhere(app, emulator, library, query, card_id):
    """Typed text, /card and inline mode give the same first card for the same query."""
    name = library.cards[card_id].name.en
    typed = await say(emulator, USER, query, "en")
    assert typed.text.startswith(name)
    command = await say(emulator, USER, f"/card {query}", "en")
    assert command.text.startswith(name)
    update_id = emulator.inline_query(SHARER, query, language_code="en")
    answer = await emulator.wait_inline_answer(update_id)
    assert answer.results[0]["id"] == f"c.{card_id}.en"


async def test_a_command_narrows_the_kind(app, emulator, library):
    person = await say(emulator, USER, "/prisoner Atabek", "en")
    assert person.text.startswith(library.cards["aron-atabek"].name.en)
    anniversary = await say(emulator, USER, "/anniversary Atabek", "en")
    assert anniversary.text.startswith(library.cards["aron-atabek-death"].name.en)
